"""The JSON API's shared parts: the OpenAPI 3.1 document, problem objects in the caller's
language, ETag/304 and CORS on public answers, and personal access tokens from creation to
revocation (the staff pages that make them: tests/test_api_tokens.py)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.api import tokens
from core.api.tokens import ApiToken
from core.auth import StaffUser
from core.db import session_scope, utcnow
from core.models import County

pytestmark = pytest.mark.one_database  # what differs by database is the token's row: both


def engine(app):
    return app.extensions["kp_engine"]


def make_token(app, make_staff, *, county: str = "vestland", can_write: bool = False,
               days: int = 30, email: str = "kari@sfvl.no") -> tuple[int, str]:
    make_staff(email=email, county=county)
    with app.app_context(), session_scope(engine(app)) as session:
        owner = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        county_id = session.scalar(sa.select(County.id).where(County.slug == county))
        token, text = tokens.create(session, owner, county_id=county_id, name="Økonomi",
                                    can_write=can_write,
                                    expires_on=(utcnow() + timedelta(days=days)).date(),
                                    now=utcnow())
        return token.id, text


def bearer(text: str, lang: str = "en") -> dict:
    return {"Authorization": f"Bearer {text}", "Accept-Language": lang}


def test_the_document_is_openapi_3_1_with_the_token_scheme(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token, made on the staff page 'API tokens'."}
    operations = {op["operationId"]: op for item in document["paths"].values()
                  for op in item.values()}
    assert {"listCounties", "describeToken"} <= set(operations)
    assert operations["describeToken"]["security"] == [{"token": []}]
    assert "security" not in operations["listCounties"]
    problem = operations["describeToken"]["responses"]["401"]["content"]
    assert problem == {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.mark.parametrize(("lang", "title"), [("nn", "Ikkje funne"), ("en", "Not found")])
def test_errors_under_api_are_problems_in_the_callers_language(client, lang, title):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": lang})

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == title
    assert response.json["status"] == 404
    wrong = client.delete("/api/v1/counties", headers={"Accept-Language": lang})
    assert wrong.status_code == 405
    assert wrong.mimetype == "application/problem+json"
    assert "GET" in wrong.headers["Allow"]
    # The pages keep their HTML error page.
    assert client.get("/no-such-page").mimetype == "text/html"


def test_public_answers_are_cacheable_open_to_other_sites_and_304_when_unchanged(client):
    first = client.get("/api/v1/counties")

    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert [c["slug"] for c in first.json["items"]][:2] == ["agder", "innlandet"]
    vestland = next(c for c in first.json["items"] if c["slug"] == "vestland")
    assert vestland["office"]["nn"] == "Statsforvaltaren i Vestland"
    again = client.get("/api/v1/counties", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    preflight = client.options("/api/v1/counties", headers={
        "Origin": "https://www.statsforvaltaren.no", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


@pytest.mark.both_databases
def test_a_token_works_until_it_is_revoked_and_its_stored_hash_is_useless(
        app, client, make_staff):
    token_id, text = make_token(app, make_staff)

    described = client.get("/api/v1/token", headers=bearer(text))
    assert described.status_code == 200
    assert described.headers["Cache-Control"] == "no-store"
    assert described.json | {"expires_at": None} == {
        "name": "Økonomi", "holder": "Kari Nordmann", "county": "vestland", "scope": "read",
        "expires_at": None}
    with session_scope(engine(app)) as session:
        stored = session.get(ApiToken, token_id)
        assert stored.last_used_at is not None
        assert text.split("_", 2)[2] not in (stored.secret_sha256, stored.public_id)
        assert stored.secret_sha256 == hashlib.sha256(text.split("_", 2)[2].encode()).hexdigest()
        stolen = f"kp_{stored.public_id}_{stored.secret_sha256}"
    # Whoever copies the table has the hash, which is not the token.
    refused = client.get("/api/v1/token", headers=bearer(stolen))
    assert refused.status_code == 401
    assert refused.json["detail"] == "The token is not valid."
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")

    with app.app_context(), session_scope(engine(app)) as session:
        owner = session.scalar(sa.select(StaffUser).where(StaffUser.email == "kari@sfvl.no"))
        assert tokens.revoke(session, session.get(ApiToken, token_id), owner, utcnow())
    revoked = client.get("/api/v1/token", headers=bearer(text, "nb"))
    assert revoked.status_code == 401
    assert revoked.json["detail"] == "Tilgangsnøkkelen er trukket tilbake."


def test_an_expired_token_says_when_it_expired(app, client, make_staff):
    token_id, text = make_token(app, make_staff)
    with session_scope(engine(app)) as session:
        session.get(ApiToken, token_id).expires_at = utcnow() - timedelta(minutes=1)

    response = client.get("/api/v1/token", headers=bearer(text, "nn"))

    assert response.status_code == 401
    assert response.json["detail"].startswith("Tilgangsnøkkelen gjekk ut ")


@pytest.mark.parametrize("header", ["", "Basic a2FyaTpwYXNz", "Bearer ", "Bearer kp_x_y",
                                    "Bearer " + "kp_" + "a" * 8 + "_" + "b" * 500])
def test_missing_or_malformed_tokens_are_401_problems(client, header):
    response = client.get("/api/v1/token", headers={"Authorization": header} if header else {})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_closed_account_closes_its_tokens(app, client, make_staff):
    _token_id, text = make_token(app, make_staff)
    with session_scope(engine(app)) as session:
        session.scalar(sa.select(StaffUser).where(StaffUser.email == "kari@sfvl.no")).active = False

    response = client.get("/api/v1/token", headers=bearer(text))

    assert response.status_code == 401
    assert response.json["detail"] == "The token's holder can no longer use the service."
