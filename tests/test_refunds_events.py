"""Refunds' events: the one writer of a claim's status publishes what happened, the participant's
mail (recorded, rendered after the commit) and the audit log subscribe; the routes leave the
committing to the request's edge, and a refused submission keeps the saved draft.

Every test runs on SQLite and on PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from core.audit import AuditEvent
from core.db import session_scope
from core.events import subscribe
from core.mail import MailStatus, OutboxMessage
from core.mail_kinds import render_recorded
from enrollment.models import Enrollment
from refunds import events
from refunds.models import Claim, ClaimStatus
from refunds.services.claims import create_draft, submit_claim, update_draft
from refunds.services.decisions import Adjustment, approve_claim, mark_paid
from tests.refunds_factories import (
    IN_WINDOW,
    VALID_ACCOUNT,
    car_leg,
    engine_of,
    load_rates,
    make_enrollment,
    staff_user,
)
from tests.test_refunds_web import (  # noqa: F401  (world is a fixture)
    car,
    claim_data,
    claim_row,
    client_in,
    in_locale,
    mails,
    page,
    staff_client,
    start_claim,
    submitted_claim,
    world,
)

S = ClaimStatus
ROOT = Path(__file__).resolve().parent.parent


def outbox(app) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def claim_audit(app, claim_id: int) -> list[str]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "claim",
                                               AuditEvent.object_id == claim_id)
            .order_by(AuditEvent.id)))


def test_each_status_change_records_its_mail_and_it_is_rendered_after_the_commit(
        app, make_offering, make_staff):
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering)
    caseworker = staff_user(app, make_staff("sakshandsamar@sfvl.no"))
    with app.app_context():
        with session_scope(engine_of(app)) as session:
            claim = create_draft(session, session.get(Enrollment, enrollment_id), now=IN_WINDOW)
            update_draft(session, claim.id, lines=[car_leg(km=100)], bank_account=VALID_ACCOUNT,
                         comment="", now=IN_WINDOW)
            submit_claim(session, claim.id, now=IN_WINDOW)
            claim_id, reference = claim.id, claim.reference
            line_id = claim.lines[0].id
            # Recorded in the transaction of the change, not rendered inside it.
            row = session.scalar(sa.select(OutboxMessage))
            assert (row.kind, row.params, row.subject, row.rendered_at) == (
                "refunds.claim_submitted", {"claim_id": claim_id}, "", None)
        with session_scope(engine_of(app)) as session:
            approve_claim(session, claim_id, actor=caseworker, now=IN_WINDOW,
                          adjustments={line_id: Adjustment(40_000, "Kortare veg")})
        with session_scope(engine_of(app)) as session:
            mark_paid(session, [claim_id], actor=caseworker, payment_date=IN_WINDOW.date(),
                      now=IN_WINDOW)
        assert render_recorded(app, engine_of(app)) == 3
    submitted, approved, paid = outbox(app)
    assert [m.kind for m in (submitted, approved, paid)] == [
        "refunds.claim_submitted", "refunds.claim_approved", "refunds.claim_paid"]
    assert {m.to_address for m in (submitted, approved, paid)} == {"lege@example.no"}
    assert {m.status for m in (submitted, approved, paid)} == {MailStatus.PENDING}
    # The participant's language (Nynorsk), the same templates and subjects as before.
    assert submitted.locale == "nn"
    assert reference in submitted.subject
    assert reference in paid.subject
    assert "400,00" in approved.body_text
    assert "Kortare veg" in approved.body_text
    assert "Kortare veg" in (approved.body_html or "")
    # Only the caseworker's decisions are audited, by the audit subscriber.
    assert claim_audit(app, claim_id) == ["claim.approved", "claim.paid"]


def test_a_decision_tells_its_subscribers_who_decided_and_the_amounts(
        app, make_offering, make_staff):
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering)
    caseworker = staff_user(app, make_staff("sakshandsamar@sfvl.no"))
    heard = []
    subscribe(app, events.decided, lambda _app, **data: heard.append(data))
    with app.app_context():
        with session_scope(engine_of(app)) as session:
            claim = create_draft(session, session.get(Enrollment, enrollment_id), now=IN_WINDOW)
            update_draft(session, claim.id, lines=[car_leg(km=100)], bank_account=VALID_ACCOUNT,
                         comment="", now=IN_WINDOW)
            submit_claim(session, claim.id, now=IN_WINDOW)
            claim_id, line_id = claim.id, claim.lines[0].id
        assert heard == []  # a submission is not a decision
        with session_scope(engine_of(app)) as session:
            approve_claim(session, claim_id, actor=caseworker, now=IN_WINDOW,
                          adjustments={line_id: Adjustment(40_000, "Kortare veg")})
    (data,) = heard
    assert (data["status"], data["previous"], data["actor"].id) == (
        S.APPROVED, S.SUBMITTED, caseworker.id)
    assert (data["total_ore"], data["approved_total_ore"]) == (53_000, 40_000)
    assert data["after"]["adjustments"] == [
        {"line_id": line_id, "from_ore": 53_000, "to_ore": 40_000, "note": "Kortare veg"}]
    assert data["claim"].id == claim_id


def test_a_mail_whose_claim_is_gone_before_rendering_is_dropped(app, make_offering):
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering)
    with app.app_context():
        with session_scope(engine_of(app)) as session:
            claim = create_draft(session, session.get(Enrollment, enrollment_id), now=IN_WINDOW)
            update_draft(session, claim.id, lines=[car_leg()], bank_account=VALID_ACCOUNT,
                         comment="", now=IN_WINDOW)
            submit_claim(session, claim.id, now=IN_WINDOW)
            claim_id = claim.id
        with session_scope(engine_of(app)) as session:
            session.delete(session.get(Claim, claim_id))  # arranging: as if erased meanwhile
        assert render_recorded(app, engine_of(app)) == 0
    assert outbox(app) == []


def test_a_refused_submission_keeps_the_draft_and_mails_nothing(app, world):  # noqa: F811
    client = client_in(app, "nn")
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    # The leg is saved, but the claim cannot be sent without an account number.
    response = client.post(url, data=claim_data([car(world.day, km="55")], bank="",
                                                send="y"))
    assert response.status_code == 400
    assert in_locale(app, "nn", "Enter the account number the refund should be paid to.") \
        in page(response)
    claim = claim_row(app, claim_id)
    assert (claim.status, [str(line.km) for line in claim.lines]) == (S.DRAFT, ["55.0"])
    assert [m for m in mails(app) if (m.kind or "").startswith("refunds.")] == []


def test_a_staff_decision_over_the_web_is_mailed_rendered_and_audited(app, world):  # noqa: F811
    claim_id = submitted_claim(app, world)
    staff = staff_client(app)
    response = staff.post(f"/staff/refunds/claims/{claim_id}/return",
                          data={"return-reason": "Legg ved kvitteringa."})
    assert response.status_code == 302
    assert claim_row(app, claim_id).status == S.RETURNED
    returned = [m for m in mails(app) if m.kind == "refunds.claim_returned"]
    assert len(returned) == 1
    # Rendered right after the request's commit, in the participant's language.
    assert returned[0].rendered_at is not None
    assert "Legg ved kvitteringa." in returned[0].body_text
    assert returned[0].locale == "nn"
    assert claim_audit(app, claim_id) == ["claim.returned"]


def test_refunds_routes_and_core_views_never_commit_or_roll_back():
    views = [*sorted((ROOT / "refunds" / "routes").glob("*.py")),
             *(ROOT / "core" / name for name in (
                 "signin.py", "staff.py", "staff_accounts.py", "audit_log.py", "web.py"))]
    found = []
    for path in views:
        text = path.read_text(encoding="utf-8")
        # core/staff.py's CLI commands may commit: they are no views.
        text = re.split(r"\n@staff_cli\.command", text)[0]
        found += [f"{path.relative_to(ROOT)}: {m}" for m in
                  re.findall(r"\.(?:commit|rollback)\(\)", text)]
    assert found == []
