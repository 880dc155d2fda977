"""The certificates API with a county office's token: an offering's certificates listed (code,
name, valid by the rules, verify address), one revoked with a reason through the staff page's
service and form rules (then /verify says so), and the refusals: a blank reason (422, the field
named, in the caller's language), revoked already (409), a read-only token (403), another
office's token (404, and nothing changes).

Writes and scoping run on both databases.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from certificates import services as certs
from certificates.models import Certificate
from core.api.tokens import ApiToken
from core.db import session_scope, utcnow
from tests.api_claimscerts_helpers import audit_log, bearer, token
from tests.test_certificates import attend, course, engine_of, enroll, text_of


def issued_certificate(app, make_offering) -> tuple[int, int]:
    """A course that has ended and Åse's certificate of it; (offering id, certificate id)."""
    offering = course(make_offering)
    enrollment_id, _token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    with app.app_context(), session_scope(engine_of(app)) as session:
        return offering.id, certs.issue(session, enrollment_id, now=utcnow()).id


def stored(app, certificate_id: int) -> Certificate:
    with session_scope(engine_of(app)) as session:
        return session.get(Certificate, certificate_id)


def listed(client, offering_id: int, text: str) -> list[dict]:
    response = client.get(f"/api/v1/offerings/{offering_id}/certificates", headers=bearer(text))
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_certificates_are_listed_and_one_is_revoked_with_a_reason(
        app, client, make_offering, make_staff):
    offering_id, certificate_id = issued_certificate(app, make_offering)
    certificate = stored(app, certificate_id)
    text = token(app, make_staff, email="kari@sfvl.no")
    url = f"/api/v1/certificates/{certificate_id}/revoke"

    # The first call of a fresh token is a write: its use is noted in the call's transaction.
    revoked = client.post(url, json={"reason": "  Attendance was registered by mistake "},
                          headers=bearer(text))

    assert revoked.status_code == 200, revoked.json
    assert revoked.json["revoked_reason"] == "Attendance was registered by mistake"
    assert revoked.json["valid"] is False
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(ApiToken.last_used_at)) is not None
    assert [(action, who) for action, who, _after in audit_log(app)][-2:] == [
        ("certificate.revoke", "kari@sfvl.no"), ("api_token.use", "kari@sfvl.no")]
    (item,) = listed(client, offering_id, text)
    code = certificate.code
    assert item | {"issued_at": None, "revoked_at": None} == {
        "id": certificate_id, "enrollment_id": certificate.enrollment_id,
        "code": f"{code[:5]}-{code[5:]}", "participant_name": "Åse Ødegård",
        "issued_at": None, "issued_on": certificate.snapshot["issued_on"], "by_hand": False,
        "revoked_at": None, "revoked_reason": "Attendance was registered by mistake",
        "valid": False, "breaches": [], "verify_url": f"http://localhost/verify/{code}"}
    verify = app.test_client()
    verify.get("/lang/en")
    assert "The certificate is revoked" in text_of(verify.get(f"/verify/{code}"))

    again = client.post(url, json={"reason": "Twice"}, headers=bearer(text, "nb"))
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.json["detail"] == "Dette kursbeviset er allerede trukket tilbake."
    assert stored(app, certificate_id).revoked_reason == "Attendance was registered by mistake"


def test_a_valid_certificate_is_listed_valid(app, client, make_offering, make_staff):
    offering_id, certificate_id = issued_certificate(app, make_offering)
    text = token(app, make_staff, email="kari@sfvl.no", can_write=False)

    (item,) = listed(client, offering_id, text)

    assert (item["id"], item["valid"], item["breaches"], item["revoked_at"],
            item["revoked_reason"]) == (certificate_id, True, [], None, None)


@pytest.mark.one_database  # the words of the refusals; nothing is written either way
@pytest.mark.parametrize(("body", "lang", "message"), [
    ({"reason": "   "}, "nn", "Skriv kvifor kursbeviset er trekt tilbake."),
    ({"reason": "Grunn\x00"}, "en", "Remove the invisible control characters from this field."),
    ({"reason": "x" * 2001}, "en", "At most 2000 characters."),
    ({}, "en", "This field is required."),
])
def test_a_reason_the_form_refuses_is_422_naming_the_field(
        app, client, make_offering, make_staff, body, lang, message):
    _offering_id, certificate_id = issued_certificate(app, make_offering)
    text = token(app, make_staff, email="kari@sfvl.no")
    before = audit_log(app)

    response = client.post(f"/api/v1/certificates/{certificate_id}/revoke", json=body,
                           headers=bearer(text, lang))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == [{"field": "reason", "message": message}]
    assert stored(app, certificate_id).revoked_at is None
    assert audit_log(app) == before


def test_read_only_and_other_offices_tokens_change_nothing(
        app, client, make_offering, make_staff):
    offering_id, certificate_id = issued_certificate(app, make_offering)
    reader = token(app, make_staff, email="kari@sfvl.no", can_write=False)
    stranger = token(app, make_staff, email="kari@sfro.no", county="rogaland")
    url = f"/api/v1/certificates/{certificate_id}/revoke"
    reason = {"reason": "Feil"}
    before = audit_log(app)

    assert client.post(url, json=reason, headers=bearer(reader)).status_code == 403
    for response in (client.post(url, json=reason, headers=bearer(stranger)),
                     client.get(f"/api/v1/offerings/{offering_id}/certificates",
                                headers=bearer(stranger))):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert stored(app, certificate_id).revoked_at is None
    assert audit_log(app) == before


@pytest.mark.one_database
def test_the_contract_links_the_list_to_revoking(client):
    document = client.get("/api/v1/openapi.json").json
    operations = {op["operationId"]: op for item in document["paths"].values()
                  for op in item.values()}

    assert operations["listCertificates"]["responses"]["200"]["links"] == {
        "revokeCertificate": {"operationId": "revokeCertificate",
                              "parameters": {"certificate_id": "$response.body#/items/0/id"}}}
    assert operations["revokeCertificate"]["security"] == [{"token": []}]
    assert set(operations["revokeCertificate"]["responses"]) >= {
        "200", "401", "403", "404", "409", "422"}
