"""The claims API as an accounting system uses it with a county office's token: list the
approved claims, fetch one with its lines, mark it paid (through the staff page's service,
audited as the page audits, plus the token's use), the payment export as the page's CSV, and
the refusals: a claim not approved or paid already (409), a read-only token (403), another
office's token (404, and nothing changes).

Writes and scoping run on both databases; the contract's shape on one.
"""

from __future__ import annotations

import pytest

from core.db import session_scope
from refunds.models import Claim, ClaimStatus, Receipt
from refunds.routes.api_models import QueueStatus
from refunds.services.decisions import approve_claim
from tests.api_claimscerts_helpers import audit_log, bearer, token
from tests.refunds_factories import (
    FIRST_DAY,
    IN_WINDOW,
    VALID_ACCOUNT,
    car_leg,
    engine_of,
    load_rates,
    make_enrollment,
    staff_user,
    submitted_claim,
)

PAID = {"payment_date": "2026-01-20"}
RECEIPT = b"%PDF-1.7 the receipt's own bytes"


def claims(app, make_offering, make_staff) -> tuple[int, int]:
    """Two claims of Vestland's office: one approved (a car leg of 100 km), one waiting for a
    decision."""
    load_rates(app)
    caseworker = staff_user(app, make_staff("sakshandsamar@sfvl.no"))
    approved = submitted_claim(app, make_enrollment(app, make_offering, name="Åse Ødegård"))
    waiting = submitted_claim(app, make_enrollment(app, make_offering, email="b@example.no"))
    with app.app_context(), session_scope(engine_of(app)) as session:
        approve_claim(session, approved, actor=caseworker, now=IN_WINDOW,
                      own_car_approved=True)
        # A receipt as the upload stores it (cleaned bytes), without the upload's sandbox.
        session.add(Receipt(claim_id=approved, data=RECEIPT, sha256="a" * 64,
                            original_sha256="b" * 64, content_type="application/pdf",
                            size=len(RECEIPT)))
    return approved, waiting


def status_of(app, claim_id: int) -> ClaimStatus:
    with session_scope(engine_of(app)) as session:
        return session.get(Claim, claim_id).status


def test_an_accounting_systems_day_lists_fetches_and_marks_a_claim_paid(
        app, client, make_offering, make_staff):
    approved, waiting = claims(app, make_offering, make_staff)
    text = token(app, make_staff, email="okonomi@sfvl.no")
    headers = bearer(text)

    listed = client.get("/api/v1/claims?status=approved", headers=headers)
    assert listed.status_code == 200
    assert listed.headers["Cache-Control"] == "no-store"
    (item,) = listed.json["items"]
    assert item | {"submitted_at": None, "decided_at": None} == {
        "id": approved, "reference": item["reference"], "status": "approved",
        "participant_name": "Åse Ødegård", "offering_id": item["offering_id"],
        "offering_title": "Test course", "total_ore": 53_000, "approved_total_ore": 53_000,
        "payable_ore": 53_000, "submitted_at": None, "decided_at": None, "paid_at": None,
        "payment_date": None}
    assert item["reference"].startswith("RR-")
    assert listed.json["next_cursor"] is None
    # The queue's default: those waiting for a decision.
    assert [c["id"] for c in client.get("/api/v1/claims", headers=headers).json["items"]] == [
        waiting]

    detail = client.get(f"/api/v1/claims/{approved}", headers=headers).json
    (line,) = detail["lines"]
    assert (line["kind"], line["means"], line["km"], line["from_place"], line["to_place"],
            line["rate_ore"], line["amount_ore"], line["approved_amount_ore"]) == (
        "leg", "own_car", "100.0", "Florø", "Bergen", 530, 53_000, 53_000)
    assert detail["bank_account"] == VALID_ACCOUNT
    (receipt,) = detail["receipts"]
    assert receipt | {"id": None, "uploaded_at": None} == {
        "id": None, "content_type": "application/pdf", "size": len(RECEIPT), "uploaded_at": None}
    assert RECEIPT not in client.get(f"/api/v1/claims/{approved}", headers=headers).data
    assert detail["decision"]["decided_by"] == "Kari Nordmann"
    assert detail["decision"]["own_car_approved"] is True
    assert detail["payment"] is None

    paid = client.post(f"/api/v1/claims/{approved}/paid", json=PAID, headers=headers)

    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "paid"
    assert paid.json["payment"] | {"paid_at": None} == {
        "paid_at": None, "paid_by": "Okonomi", "payment_date": "2026-01-20"}
    assert status_of(app, approved) == ClaimStatus.PAID
    listed = client.get("/api/v1/claims?status=paid", headers=headers).json["items"]
    assert [(c["id"], c["payment_date"]) for c in listed] == [(approved, "2026-01-20")]
    log = audit_log(app)
    assert [(action, who) for action, who, _after in log][-2:] == [
        ("claim.paid", "okonomi@sfvl.no"), ("api_token.use", "okonomi@sfvl.no")]
    assert log[-1][2] == {"request": f"POST /api/v1/claims/{approved}/paid", "status": 200}

    again = client.post(f"/api/v1/claims/{approved}/paid", json=PAID, headers=headers)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.json["detail"] == "The claim has changed in the meantime. Look at it again."
    not_approved = client.post(f"/api/v1/claims/{waiting}/paid", json=PAID,
                               headers=bearer(text, "nn"))
    assert not_approved.status_code == 409
    assert not_approved.json["title"] == "Konflikt"
    assert status_of(app, waiting) == ClaimStatus.SUBMITTED
    assert audit_log(app) == log


def test_a_read_only_token_and_another_offices_token_change_nothing(
        app, client, make_offering, make_staff):
    approved, waiting = claims(app, make_offering, make_staff)
    reader = token(app, make_staff, email="sakshandsamar@sfvl.no", can_write=False, new=False)
    stranger = bearer(token(app, make_staff, email="kari@sfro.no", county="rogaland"))
    before = audit_log(app)

    refused = client.post(f"/api/v1/claims/{approved}/paid", json=PAID, headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    for claim_id in (approved, waiting):
        assert client.get(f"/api/v1/claims/{claim_id}", headers=stranger).status_code == 404
        refused = client.post(f"/api/v1/claims/{claim_id}/paid", json=PAID, headers=stranger)
        assert refused.status_code == 404
        assert refused.mimetype == "application/problem+json"
    for status in ("all", "approved"):
        listed = client.get(f"/api/v1/claims?status={status}", headers=stranger)
        assert listed.json == {"items": [], "next_cursor": None}
    export = client.get("/api/v1/claims/export", headers=stranger)
    assert export.status_code == 200
    assert len(export.get_data(as_text=True).splitlines()) == 1  # the header line alone

    assert status_of(app, approved) == ClaimStatus.APPROVED
    assert audit_log(app) == before
    assert client.get(f"/api/v1/claims/{approved}", headers=bearer(reader)).status_code == 200


@pytest.mark.one_database  # the page's file, whose rows are tested on both (test_refunds_exports)
def test_the_export_is_the_staff_pages_csv(app, client, make_offering, make_staff, login):
    approved, _waiting = claims(app, make_offering, make_staff)
    text = token(app, make_staff, email="sakshandsamar@sfvl.no", can_write=False, new=False)

    export = client.get("/api/v1/claims/export", headers=bearer(text))

    assert export.status_code == 200
    assert export.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert export.headers["Cache-Control"] == "no-store"
    assert export.headers["Content-Disposition"].startswith(
        'attachment; filename="travel-claims-')
    body = export.get_data()
    assert body.startswith("\ufeffName;Bank account;Amount (NOK)".encode())
    assert f"Åse Ødegård;{VALID_ACCOUNT};530,00;RR-".encode() in body
    login("sakshandsamar@sfvl.no")
    assert client.get("/staff/refunds/export.csv").get_data() == body
    paid = client.get("/api/v1/claims/export?status=paid", headers=bearer(text))
    assert len(paid.get_data(as_text=True).splitlines()) == 1
    assert status_of(app, approved) == ClaimStatus.APPROVED


def test_pages_of_claims_follow_the_cursor(app, client, make_offering, make_staff):
    load_rates(app)
    offering = make_offering(first_day=FIRST_DAY)
    ids = [submitted_claim(app, make_enrollment(app, make_offering, offering_id=offering.id,
                                                email=f"p{n}@example.no"),
                           lines=[car_leg(km=10 * (n + 1))])
           for n in range(2)]
    headers = bearer(token(app, make_staff, email="okonomi@sfvl.no", can_write=False))

    seen, cursor = [], None
    while True:
        query = {"limit": 1, "offering_id": offering.id, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/claims", query_string=query, headers=headers).json
        seen.append([c["id"] for c in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [ids[:1], ids[1:]]  # sent in at the same moment: by id
    bad = client.get("/api/v1/claims?cursor=bm90LWEtY3Vyc29y", headers=headers)
    assert bad.status_code == 400
    assert bad.mimetype == "application/problem+json"


@pytest.mark.one_database
def test_the_contract_names_the_operations_their_links_and_the_csv(client):
    document = client.get("/api/v1/openapi.json").json
    operations = {op["operationId"]: (path, method, op)
                  for path, item in document["paths"].items() for method, op in item.items()}

    assert {name: operations[name][:2] for name in (
        "listClaims", "getClaim", "markClaimPaid", "exportClaims")} == {
        "listClaims": ("/api/v1/claims", "get"),
        "getClaim": ("/api/v1/claims/{claim_id}", "get"),
        "markClaimPaid": ("/api/v1/claims/{claim_id}/paid", "post"),
        "exportClaims": ("/api/v1/claims/export", "get")}
    for name in ("listClaims", "getClaim", "markClaimPaid", "exportClaims"):
        assert operations[name][2]["security"] == [{"token": []}]
    export = operations["exportClaims"][2]["responses"]["200"]
    assert export["content"] == {"text/csv": {"schema": {"type": "string"}}}
    links = operations["listClaims"][2]["responses"]["200"]["links"]
    assert links["getClaim"]["parameters"] == {"claim_id": "$response.body#/items/0/id"}
    assert operations["getClaim"][2]["responses"]["200"]["links"]["markClaimPaid"] == {
        "operationId": "markClaimPaid", "parameters": {"claim_id": "$response.body#/id"}}
    assert set(QueueStatus.__args__) == {"awaiting_decision", "all"} | {
        s.value for s in ClaimStatus if s != ClaimStatus.DRAFT}


@pytest.mark.one_database
@pytest.mark.parametrize(("lang", "message"), [
    ("en", "This field is required."), ("nn", "Dette feltet må fyllast ut.")])
def test_a_payment_without_a_date_names_the_field(app, client, make_staff, lang, message):
    text = token(app, make_staff, email="okonomi@sfvl.no")

    response = client.post("/api/v1/claims/1/paid", json={}, headers=bearer(text, lang))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == [{"field": "payment_date", "message": message}]
