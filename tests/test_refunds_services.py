"""Claim services: every status move allowed and refused, the claim journey with its audit
trail, self-approval, immutability, duplicates, the claim window and who is refunded.

Every test runs on SQLite and on PostgreSQL (the ``app`` fixture); results are read back in a
fresh session after commit, so they show what the database holds.
"""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from core.audit import AuditEvent
from core.db import session_scope
from enrollment.models import Enrollment, EnrollmentStatus, Role
from refunds.calc import explain
from refunds.cli import load_rate_schemes
from refunds.eligibility import claim_problem
from refunds.errors import (
    ClaimIncomplete,
    ClaimLocked,
    InvalidAccountNumber,
    InvalidInput,
    InvalidTransition,
    LinesRefused,
    NotEligible,
    NotPermitted,
    OutsideClaimWindow,
    ReasonRequired,
    SelfApproval,
)
from refunds.lines import LegInput
from refunds.models import (
    Claim,
    ClaimLine,
    ClaimStatus,
    Rate,
    RateKind,
    RateScheme,
    Receipt,
    TravelMeans,
)
from refunds.queries import duplicate_warnings, queue_select
from refunds.services.claims import create_draft, delete_draft, submit_claim, update_draft
from refunds.services.decisions import (
    Adjustment,
    approve_claim,
    mark_paid,
    reject_claim,
    return_claim,
)
from refunds.services.rates import add_rate
from refunds.services.receipts import attach_receipt, remove_receipt
from refunds.services.status import TRANSITIONS, change_claim_status
from refunds.uploads import read_receipt
from tests.refunds_factories import (
    IN_WINDOW,
    TRAVEL_DAY,
    VALID_ACCOUNT,
    car_leg,
    draft_claim,
    engine_of,
    load_rates,
    make_enrollment,
    staff_user,
    submitted_claim,
    toll,
)
from tests.test_refunds_uploads import png, real_pdf

S = ClaimStatus
LATER = IN_WINDOW + timedelta(days=1)


@pytest.fixture
def setup(app, make_offering, make_staff):
    """Rates loaded, a LIS1 doctor's confirmed enrollment, and a caseworker of Vestland."""
    load_rates(app)

    class Setup:
        enrollment_id = make_enrollment(app, make_offering)
        caseworker = staff_user(app, make_staff("sakshandsamar@sfvl.no"))

    Setup.app = app
    Setup.make_offering = make_offering
    Setup.make_staff = make_staff
    # The services publish their events to the current application's subscribers (mail,
    # audit), as they do in a request or a CLI command.
    with app.app_context():
        yield Setup


def claim_row(app, claim_id: int) -> Claim:
    with session_scope(engine_of(app)) as session:
        claim = session.get(Claim, claim_id)
        claim.lines  # noqa: B018  (load before the session closes)
        claim.receipts  # noqa: B018
        return claim


def events(app, claim_id: int) -> list[AuditEvent]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(AuditEvent).where(AuditEvent.object_type == "claim",
                                        AuditEvent.object_id == claim_id)
            .order_by(AuditEvent.id)))


def run(app, operation, *args, **kwargs):
    """Run one service operation in its own committed transaction."""
    with session_scope(engine_of(app)) as session:
        return operation(session, *args, **kwargs)


def attach(app, claim_id, data=None, name="kvittering.pdf", line_id=None):
    # Checked and cleaned before the transaction, as the upload view does.
    checked = read_receipt(io.BytesIO(data or real_pdf()), name)
    return run(app, attach_receipt, claim_id, checked, now=IN_WINDOW,
               line_id=line_id).id


# --- the table ---------------------------------------------------------------------------------


def test_transition_table_is_the_specified_one():
    assert TRANSITIONS == {
        S.DRAFT: {S.SUBMITTED},
        S.SUBMITTED: {S.APPROVED, S.REJECTED, S.RETURNED},
        S.RETURNED: {S.RESUBMITTED},
        S.RESUBMITTED: {S.APPROVED, S.REJECTED, S.RETURNED},
        S.APPROVED: {S.PAID},
        S.REJECTED: set(),
        S.PAID: set(),
    }


def test_every_status_move_is_allowed_or_refused_by_the_table(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id)
    for current, target in itertools.product(S, S):
        with session_scope(engine_of(app)) as session:
            claim = session.get(Claim, claim_id)
            claim.status = current  # arranging only: the test sets the starting point
            session.flush()
            if target in TRANSITIONS[current]:
                previous = change_claim_status(session, claim, target, now=IN_WINDOW,
                                                        actor=setup.caseworker)
                assert previous == current
            else:
                with pytest.raises(InvalidTransition) as exc:
                    change_claim_status(session, claim, target, now=IN_WINDOW,
                                                 actor=setup.caseworker)
                assert (exc.value.current, exc.value.target) == (current, target)
        assert claim_row(app, claim_id).status == (
            target if target in TRANSITIONS[current] else current)
    allowed = sum(len(v) for v in TRANSITIONS.values())
    assert len(events(app, claim_id)) == allowed


# --- the journey -------------------------------------------------------------------------------


def test_claim_journey_with_return_adjustment_and_payment(setup):
    app, staff = setup.app, setup.caseworker
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, setup.enrollment_id)
        claim = create_draft(session, enrollment, now=IN_WINDOW)
        claim_id, reference = claim.id, claim.reference
    assert reference == f"RR-2026-{claim_id:06d}"

    receipt_id = attach(app, claim_id)
    computed = run(app, update_draft, claim_id, lines=[
        car_leg(km=312, passengers=2),  # 312 × 530 + 312 × 2 × 100 = 227 760
        toll(receipt_id=receipt_id),    # 4 550
    ], bank_account="8601 11 17947", comment="  Tur-retur  ", now=IN_WINDOW)
    assert computed.total_ore == 232_310

    result = run(app, submit_claim, claim_id, now=IN_WINDOW)
    assert (result.previous, result.status, result.warnings) == (S.DRAFT, S.SUBMITTED, [])
    stored = claim_row(app, claim_id)
    assert stored.bank_account == VALID_ACCOUNT
    assert stored.comment == "Tur-retur"
    assert stored.total_ore == 232_310
    assert stored.submitted_at == IN_WINDOW == stored.first_submitted_at
    leg_line = stored.lines[0]
    assert explain(leg_line, "nn") == (
        "312 km × 5,30\u00a0kr + 312 km × 2 × 1,00\u00a0kr = 2\u00a0277,60\u00a0kr")
    assert (leg_line.rate_ore, leg_line.supplement_rate_ore, leg_line.supplement_units) == (
        530, 100, 2)
    with session_scope(engine_of(app)) as session:
        rate = session.get(Rate, leg_line.rate_id)
        assert (rate.kind, rate.valid_from) == (RateKind.CAR_KM, date(2026, 1, 1))
    assert events(app, claim_id) == []  # the participant's own steps are not staff decisions

    returned = run(app, return_claim, claim_id, "  Legg ved bompengekvittering  ",
                   actor=staff, now=LATER)
    assert (returned.previous, returned.status) == (S.SUBMITTED, S.RETURNED)
    assert claim_row(app, claim_id).reason == "Legg ved bompengekvittering"

    run(app, update_draft, claim_id, lines=[
        car_leg(km=312, passengers=2), toll(receipt_id=receipt_id), toll(amount=2_000,
                                                                          receipt_id=receipt_id),
    ], bank_account=VALID_ACCOUNT, comment="", now=LATER)
    resubmitted = run(app, submit_claim, claim_id, now=LATER)
    assert (resubmitted.previous, resubmitted.status) == (S.RETURNED, S.RESUBMITTED)
    stored = claim_row(app, claim_id)
    assert stored.first_submitted_at == IN_WINDOW
    assert stored.submitted_at == LATER
    assert stored.total_ore == 234_310

    second_toll = stored.lines[2].id
    approved = run(app, approve_claim, claim_id, actor=staff, now=LATER, adjustments={
        second_toll: Adjustment(1_500, "Bompengar er 15 kr med brikke"),
    })
    assert (approved.previous, approved.status) == (S.RESUBMITTED, S.APPROVED)
    stored = claim_row(app, claim_id)
    assert stored.approved_total_ore == 234_310 - 500
    assert stored.payable_ore == 233_810
    assert stored.decided_by_id == staff.id
    assert stored.decided_at == LATER
    assert stored.lines[2].adjust_note == "Bompengar er 15 kr med brikke"

    paid = run(app, mark_paid, [claim_id], actor=staff, payment_date=date(2026, 1, 20),
               now=LATER)
    assert [(r.previous, r.status) for r in paid] == [(S.APPROVED, S.PAID)]
    stored = claim_row(app, claim_id)
    assert stored.payment_date == date(2026, 1, 20)
    assert stored.paid_by_id == staff.id

    trail = events(app, claim_id)
    assert [e.action for e in trail] == ["claim.returned", "claim.approved", "claim.paid"]
    assert all(e.actor_id == staff.id and e.county_id is not None for e in trail)
    assert trail[0].before["status"] == "submitted"
    assert trail[0].after["status"] == "returned"
    assert trail[1].after["approved_total_ore"] == 233_810
    assert trail[1].after["adjustments"] == [{
        "line_id": second_toll, "from_ore": 2_000, "to_ore": 1_500,
        "note": "Bompengar er 15 kr med brikke"}]
    assert trail[2].after["payment_date"] == "2026-01-20"


def test_create_draft_twice_gives_the_same_draft(setup):
    app = setup.app
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, setup.enrollment_id)
        first = create_draft(session, enrollment, now=IN_WINDOW).id
        second = create_draft(session, enrollment, now=IN_WINDOW).id
    assert first == second


def test_reject_and_return_need_a_reason(setup):
    app = setup.app
    claim_id = submitted_claim(app, setup.enrollment_id)
    for operation in (reject_claim, return_claim):
        for reason in ("", "   "):
            with pytest.raises(ReasonRequired):
                run(app, operation, claim_id, reason, actor=setup.caseworker, now=LATER)
    rejected = run(app, reject_claim, claim_id, "Ikkje refusjonsberettiga",
                   actor=setup.caseworker, now=LATER)
    assert rejected.status == S.REJECTED
    stored = claim_row(app, claim_id)
    assert stored.reason == "Ikkje refusjonsberettiga"
    assert stored.decided_at == LATER
    assert [e.action for e in events(app, claim_id)] == ["claim.rejected"]
    for operation in (approve_claim, return_claim):
        with pytest.raises(InvalidTransition):
            run(app, operation, claim_id, *(["x"] if operation is return_claim
                                             else []), actor=setup.caseworker, now=LATER)


def test_a_caseworker_cannot_approve_a_claim_of_their_own_email(setup):
    app = setup.app
    own = make_enrollment(app, setup.make_offering, email="sakshandsamar@sfvl.no")
    claim_id = submitted_claim(app, own)
    with pytest.raises(SelfApproval):
        run(app, approve_claim, claim_id, actor=setup.caseworker, now=LATER)
    assert claim_row(app, claim_id).status == S.SUBMITTED
    colleague = staff_user(app, setup.make_staff("kollega@sfvl.no"))
    assert run(app, approve_claim, claim_id, actor=colleague,
               now=LATER).status == S.APPROVED


def test_self_approval_compares_emails_ignoring_case(setup):
    app = setup.app
    own = make_enrollment(app, setup.make_offering, email="sakshandsamar@sfvl.no")
    claim_id = submitted_claim(app, own)
    shouting = staff_user(app, setup.make_staff("other@sfvl.no"))
    shouting.email = "SaksHandsamar@SFVL.no"  # as if the account had kept its capitals
    with pytest.raises(SelfApproval):
        run(app, approve_claim, claim_id, actor=shouting, now=LATER)


def test_staff_of_another_county_cannot_decide_but_an_administrator_can(setup):
    app = setup.app
    claim_id = submitted_claim(app, setup.enrollment_id)
    outsider = staff_user(app, setup.make_staff("ola@sfro.no", county="rogaland"))
    for operation, args in ((approve_claim, ()), (reject_claim, ("x",)),
                            (return_claim, ("x",))):
        with pytest.raises(NotPermitted):
            run(app, operation, claim_id, *args, actor=outsider, now=LATER)
    admin = staff_user(app, setup.make_staff("admin@sf.no", admin=True))
    assert run(app, approve_claim, claim_id, actor=admin, now=LATER).status == S.APPROVED
    with pytest.raises(NotPermitted):
        run(app, mark_paid, [claim_id], actor=outsider, payment_date=date(2026, 2, 1),
            now=LATER)


def test_adjustments_need_a_note_and_a_sane_amount(setup):
    app = setup.app
    claim_id = submitted_claim(app, setup.enrollment_id)
    line_id = claim_row(app, claim_id).lines[0].id
    for adjustments, code in (
        ({line_id: Adjustment(100, " ")}, "adjustment_note_missing"),
        ({line_id: Adjustment(-1, "feil")}, "adjustment_invalid"),
        ({line_id: Adjustment(10_000_001, "feil")}, "adjustment_invalid"),
        ({line_id + 999: Adjustment(100, "feil")}, "unknown_line"),
    ):
        with pytest.raises(InvalidInput) as exc:
            run(app, approve_claim, claim_id, actor=setup.caseworker, now=LATER,
                adjustments=adjustments)
        assert exc.value.code == code
    stored = claim_row(app, claim_id)
    assert stored.status == S.SUBMITTED
    assert stored.lines[0].adjusted_amount_ore is None


# --- immutability ------------------------------------------------------------------------------


def approved_claim(setup) -> int:
    claim_id = submitted_claim(setup.app, setup.enrollment_id)
    run(setup.app, approve_claim, claim_id, actor=setup.caseworker, now=LATER)
    return claim_id


@pytest.mark.parametrize("paid", [False, True], ids=["approved", "paid"])
def test_approved_and_paid_claims_cannot_be_changed(setup, paid):
    app = setup.app
    claim_id = approved_claim(setup)
    if paid:
        run(app, mark_paid, [claim_id], actor=setup.caseworker,
            payment_date=date(2026, 2, 1), now=LATER)
    before = claim_row(app, claim_id)
    with pytest.raises(ClaimLocked):
        run(app, update_draft, claim_id, lines=[car_leg(km=999)],
            bank_account=VALID_ACCOUNT, comment="", now=LATER)
    with pytest.raises(ClaimLocked):
        attach(app, claim_id)
    with pytest.raises(ClaimLocked):
        run(app, remove_receipt, claim_id, 1, now=LATER)
    with pytest.raises(ClaimLocked):
        run(app, delete_draft, claim_id)
    with pytest.raises(ClaimLocked):
        run(app, submit_claim, claim_id, now=LATER)
    for operation, args in ((approve_claim, ()), (reject_claim, ("x",)),
                            (return_claim, ("x",))):
        with pytest.raises(InvalidTransition):
            run(app, operation, claim_id, *args, actor=setup.caseworker, now=LATER)
    if paid:
        with pytest.raises(InvalidTransition):
            run(app, mark_paid, [claim_id], actor=setup.caseworker,
                payment_date=date(2026, 3, 1), now=LATER)
    after = claim_row(app, claim_id)
    assert (after.status, after.total_ore, after.payment_date, len(after.lines)) == (
        before.status, before.total_ore, before.payment_date, len(before.lines))


@pytest.mark.parametrize("status", [S.SUBMITTED, S.RESUBMITTED, S.REJECTED])
def test_submitted_and_rejected_claims_are_read_only_for_the_participant(setup, status):
    app = setup.app
    claim_id = submitted_claim(app, setup.enrollment_id)
    with session_scope(engine_of(app)) as session:
        session.get(Claim, claim_id).status = status
    with pytest.raises(ClaimLocked):
        run(app, update_draft, claim_id, lines=[car_leg()],
            bank_account=VALID_ACCOUNT, comment="", now=LATER)


def test_only_a_never_submitted_draft_can_be_deleted(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id, lines=[toll()])
    attach(app, claim_id, line_id=claim_row(app, claim_id).lines[0].id)
    attach(app, claim_id, png(), "b.png")
    run(app, delete_draft, claim_id)
    with session_scope(engine_of(app)) as session:
        assert session.get(Claim, claim_id) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(ClaimLine)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0
    returned = submitted_claim(app, setup.enrollment_id)
    run(app, return_claim, returned, "fiks", actor=setup.caseworker, now=LATER)
    with pytest.raises(ClaimLocked):
        run(app, delete_draft, returned)


def test_mark_paid_batch_is_all_or_nothing(setup):
    app = setup.app
    first = approved_claim(setup)
    second_enrollment = make_enrollment(app, setup.make_offering, email="to@example.no")
    second = submitted_claim(app, second_enrollment)
    with pytest.raises(InvalidTransition) as exc:
        run(app, mark_paid, [first, second], actor=setup.caseworker,
            payment_date=date(2026, 2, 1), now=LATER)
    assert exc.value.reference == claim_row(app, second).reference
    assert claim_row(app, first).status == S.APPROVED
    run(app, approve_claim, second, actor=setup.caseworker, now=LATER)
    results = run(app, mark_paid, [second, first, first], actor=setup.caseworker,
                  payment_date=date(2026, 2, 1), now=LATER)
    assert [r.claim.id for r in results] == sorted([first, second])
    assert {claim_row(app, c).status for c in (first, second)} == {S.PAID}
    with pytest.raises(InvalidInput):
        run(app, mark_paid, [], actor=setup.caseworker, payment_date=date(2026, 2, 1),
            now=LATER)


# --- submitting --------------------------------------------------------------------------------


def test_submit_lists_what_is_missing(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id, lines=[car_leg(), toll(), toll()], bank="")
    with pytest.raises(ClaimIncomplete) as exc:
        run(app, submit_claim, claim_id, now=IN_WINDOW)
    assert exc.value.problems == ["receipts_missing", "bank_account_missing"]
    assert exc.value.lines_missing_receipt == [1, 2]

    empty = draft_claim(app, make_enrollment(app, setup.make_offering, email="b@example.no"),
                        lines=[car_leg()])
    run(app, update_draft, empty, lines=[], bank_account=VALID_ACCOUNT, comment="",
        now=IN_WINDOW)
    with pytest.raises(ClaimIncomplete) as exc:
        run(app, submit_claim, empty, now=IN_WINDOW)
    assert exc.value.problems == ["no_lines"]
    assert claim_row(app, claim_id).status == S.DRAFT


def test_a_receipt_uploaded_for_a_line_satisfies_it(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id, lines=[car_leg(), toll()])
    toll_line = claim_row(app, claim_id).lines[1].id
    attach(app, claim_id, line_id=toll_line)
    assert run(app, submit_claim, claim_id, now=IN_WINDOW).status == S.SUBMITTED


def test_removing_a_receipt_unlinks_its_lines(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id)
    receipt_id = attach(app, claim_id)
    run(app, update_draft, claim_id, lines=[toll(receipt_id=receipt_id),
                                                     toll(receipt_id=receipt_id)],
        bank_account=VALID_ACCOUNT, comment="", now=IN_WINDOW)
    run(app, remove_receipt, claim_id, receipt_id, now=IN_WINDOW)
    stored = claim_row(app, claim_id)
    assert stored.receipts == []
    assert all(line.receipt_missing for line in stored.lines)


def test_a_receipt_of_another_claim_cannot_be_linked(setup):
    app = setup.app
    other = draft_claim(app, make_enrollment(app, setup.make_offering, email="c@example.no"))
    foreign = attach(app, other)
    claim_id = draft_claim(app, setup.enrollment_id)
    with pytest.raises(InvalidInput) as exc:
        run(app, update_draft, claim_id, lines=[toll(receipt_id=foreign)],
            bank_account=VALID_ACCOUNT, comment="", now=IN_WINDOW)
    assert exc.value.code == "unknown_receipt"
    with pytest.raises(InvalidInput):
        run(app, remove_receipt, claim_id, foreign, now=IN_WINDOW)


def test_draft_refuses_bad_lines_and_bad_account_and_keeps_what_it_had(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id)
    taxi = LegInput(travel_date=TRAVEL_DAY, from_place="Bergen", to_place="Flesland",
                    means=TravelMeans.TAXI, amount_paid_ore=45_000)
    with pytest.raises(LinesRefused) as exc:
        run(app, update_draft, claim_id, lines=[car_leg(), taxi],
            bank_account=VALID_ACCOUNT, comment="", now=IN_WINDOW)
    assert [(e.index, e.code) for e in exc.value.errors] == [(1, "taxi_reason_missing")]
    with pytest.raises(InvalidAccountNumber):
        run(app, update_draft, claim_id, lines=[car_leg()],
            bank_account="8601 11 17948", comment="", now=IN_WINDOW)
    stored = claim_row(app, claim_id)
    assert len(stored.lines) == 1
    assert stored.total_ore == 53_000


def test_submit_recomputes_with_the_rates_in_force(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id)  # 100 km × 530 = 53 000
    with session_scope(engine_of(app)) as session:
        rate = session.scalar(sa.select(Rate).where(Rate.kind == RateKind.CAR_KM,
                                                    Rate.valid_from == date(2026, 1, 1)))
        rate.amount_ore = 540  # an administrator corrected the rate
    run(app, submit_claim, claim_id, now=IN_WINDOW)
    stored = claim_row(app, claim_id)
    assert stored.total_ore == 54_000
    assert stored.lines[0].rate_ore == 540


# --- window and eligibility --------------------------------------------------------------------


def oslo_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 11, tzinfo=UTC)


def test_claims_are_taken_from_the_first_session_to_three_months_after_the_last(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id, now=oslo_noon(date(2025, 12, 1)))
    with pytest.raises(OutsideClaimWindow) as exc:
        run(app, submit_claim, claim_id, now=oslo_noon(date(2026, 1, 4)))
    assert exc.value.code == "window_not_open"
    assert (exc.value.opens, exc.value.closes) == (date(2026, 1, 5), date(2026, 4, 6))
    with pytest.raises(OutsideClaimWindow) as exc:
        run(app, submit_claim, claim_id, now=oslo_noon(date(2026, 4, 7)))
    assert exc.value.code == "window_closed"
    # 23:30 Oslo time on the last day is still inside (22:30 UTC).
    last_minute = datetime(2026, 4, 6, 21, 30, tzinfo=UTC)
    assert run(app, submit_claim, claim_id, now=last_minute).status == S.SUBMITTED


def test_the_deadline_is_configurable_and_ends_drafting_too(setup):
    app = setup.app
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, setup.enrollment_id)
        with pytest.raises(OutsideClaimWindow):
            create_draft(session, enrollment, now=oslo_noon(date(2026, 2, 7)),
                                  deadline_months=1)
        assert claim_problem(enrollment, oslo_noon(date(2026, 2, 7)), 1) == (
            "window_closed")
        assert claim_problem(enrollment, oslo_noon(date(2026, 2, 6)), 1) is None


@pytest.mark.parametrize(("role", "refunded"), [
    (Role.LIS1, True), (Role.PHYSIO_INTERN, True), (Role.CHIRO_INTERN, True),
    (Role.SUPERVISOR, False),
])
def test_supervisors_are_not_refunded(setup, role, refunded):
    app = setup.app
    kind = "supervisor_training_lis1" if role == Role.SUPERVISOR else "public_health"
    enrollment_id = make_enrollment(app, setup.make_offering, role=role, kind=kind,
                                    email=f"{role.value}@example.no")
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        if refunded:
            assert create_draft(session, enrollment, now=IN_WINDOW).id
        else:
            with pytest.raises(NotEligible) as exc:
                create_draft(session, enrollment, now=IN_WINDOW)
            assert exc.value.code == "role_not_refunded"


def test_offering_not_refund_eligible_gives_no_claim(setup):
    app = setup.app
    enrollment_id = make_enrollment(app, setup.make_offering, refund_eligible=False,
                                    email="n@example.no")
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        with pytest.raises(NotEligible) as exc:
            create_draft(session, enrollment, now=IN_WINDOW)
        assert exc.value.code == "offering_not_eligible"
        assert claim_problem(enrollment, IN_WINDOW) == "offering_not_eligible"


@pytest.mark.parametrize("status", [EnrollmentStatus.PENDING, EnrollmentStatus.WAITLISTED,
                                    EnrollmentStatus.CANCELLED])
def test_only_confirmed_enrollments_claim(setup, status):
    app = setup.app
    enrollment_id = make_enrollment(app, setup.make_offering, status=status,
                                    email=f"{status.value}@example.no")
    with session_scope(engine_of(app)) as session, pytest.raises(NotEligible) as exc:
        create_draft(session, session.get(Enrollment, enrollment_id), now=IN_WINDOW)
    assert exc.value.code == "not_confirmed"


def test_a_cancelled_enrollment_cannot_submit_its_draft(setup):
    app = setup.app
    claim_id = draft_claim(app, setup.enrollment_id)
    with session_scope(engine_of(app)) as session:
        session.get(Enrollment, setup.enrollment_id).status = EnrollmentStatus.CANCELLED
    with pytest.raises(NotEligible):
        run(app, submit_claim, claim_id, now=IN_WINDOW)


# --- duplicates --------------------------------------------------------------------------------


def test_same_person_claiming_the_same_date_twice_is_flagged(setup):
    app = setup.app
    first = submitted_claim(app, setup.enrollment_id)
    # The same e-mail enrolled in another course; a leg on the same day.
    other_enrollment = make_enrollment(app, setup.make_offering)
    draft = draft_claim(app, other_enrollment, lines=[car_leg(km=50), car_leg(km=50)])
    with session_scope(engine_of(app)) as session:
        # A draft is the participant's own work: not shown as the other side of a warning.
        assert duplicate_warnings(session, [first])[first] == []
    result = run(app, submit_claim, draft, now=IN_WINDOW)
    assert [(w.kind, w.other_claim_id, w.travel_date) for w in result.warnings] == [
        ("same_date", first, TRAVEL_DAY)]
    with session_scope(engine_of(app)) as session:
        warnings = duplicate_warnings(session, [first, draft])
    assert [(w.kind, w.other_reference) for w in warnings[first]] == [
        ("same_date", claim_row(app, draft).reference)]
    # Someone else travelling that day is no duplicate.
    stranger = submitted_claim(app, make_enrollment(app, setup.make_offering,
                                                    email="annan@example.no"))
    with session_scope(engine_of(app)) as session:
        assert duplicate_warnings(session, [stranger])[stranger] == []


def test_the_same_receipt_on_two_claims_is_flagged(setup):
    app = setup.app
    data = png()
    first = draft_claim(app, setup.enrollment_id, lines=[car_leg(day=date(2026, 1, 5))])
    attach(app, first, data, "a.png")
    run(app, submit_claim, first, now=IN_WINDOW)
    second = draft_claim(app, make_enrollment(app, setup.make_offering, email="d@example.no"),
                         lines=[car_leg(day=date(2026, 1, 6))])
    attach(app, second, data, "b.png")
    attach(app, second, real_pdf(), "other.pdf")
    result = run(app, submit_claim, second, now=IN_WINDOW)
    assert [(w.kind, w.other_claim_id) for w in result.warnings] == [("same_receipt", first)]
    # Compared by the file as uploaded: the stored bytes are the re-written file.
    assert result.warnings[0].sha256 == claim_row(app, first).receipts[0].original_sha256


# --- queue and rates ---------------------------------------------------------------------------


def test_the_queue_lists_waiting_claims_oldest_first_without_drafts(setup, count_queries):
    app = setup.app
    first = submitted_claim(app, setup.enrollment_id)
    second = submitted_claim(app, make_enrollment(app, setup.make_offering, email="e@example.no"))
    with session_scope(engine_of(app)) as session:
        session.get(Claim, second).submitted_at = IN_WINDOW - timedelta(hours=1)
    draft_claim(app, make_enrollment(app, setup.make_offering, email="f@example.no"))
    with session_scope(engine_of(app)) as session, count_queries() as statements:
        claims = list(session.scalars(queue_select()).unique())
        names = [(c.id, c.enrollment.participant.email, c.enrollment.offering.county.slug)
                 for c in claims]
    assert [n[0] for n in names] == [second, first]
    assert len(statements) <= 2
    with session_scope(engine_of(app)) as session:
        everything = list(session.scalars(queue_select(statuses=list(S))).unique())
        assert {c.status for c in everything} == {S.SUBMITTED}


def test_loading_rates_is_idempotent_and_closes_periods(setup):
    app = setup.app
    with session_scope(engine_of(app)) as session:
        report = load_rate_schemes(session)
        assert (report.schemes_added, report.rates_added, report.periods_closed) == (0, 0, 0)
        scheme = session.scalar(sa.select(RateScheme).where(RateScheme.code == "state"))
        assert scheme.is_default
        assert not scheme.allowances_enabled
        assert "easya.no" in scheme.source_note
        assert "dfo.no" in scheme.source_note
        assert len(scheme.rates) == 20
        rate_2025 = next(r for r in scheme.rates if r.kind == RateKind.CAR_KM
                         and r.valid_from == date(2025, 1, 1))
        rate_2025.valid_to = None  # as if the file had just gained the 2026 rate
        rate_2025.amount_ore = 501  # and an administrator had corrected the amount
    with session_scope(engine_of(app)) as session:
        report = load_rate_schemes(session)
        assert (report.rates_added, report.periods_closed) == (0, 1)
        rate_2025 = session.scalar(sa.select(Rate).where(Rate.kind == RateKind.CAR_KM,
                                                         Rate.valid_from == date(2025, 1, 1)))
        assert (rate_2025.valid_to, rate_2025.amount_ore) == (date(2025, 12, 31), 501)


def test_loading_over_the_old_file_adds_sources_marks_and_new_rates(setup):
    app = setup.app
    old_kinds = {RateKind.CAR_KM, RateKind.PASSENGER_KM, RateKind.MEAL_DAY_6_12H,
                 RateKind.MEAL_DAY_OVER_12H, RateKind.MEAL_OVERNIGHT, RateKind.DEDUCT_BREAKFAST,
                 RateKind.DEDUCT_LUNCH, RateKind.DEDUCT_DINNER}
    with session_scope(engine_of(app)) as session:
        # The database as the first rate file left it: no sources, no conditions, an open
        # passenger supplement from 2023, no night supplement and no 2024–2025 meal rates.
        scheme = session.scalar(sa.select(RateScheme).where(RateScheme.code == "state"))
        scheme.allowance_rules = {}
        for rate in list(scheme.rates):
            if rate.kind not in old_kinds or (
                rate.kind == RateKind.PASSENGER_KM and rate.valid_from.year > 2023
            ) or (rate.kind.value.startswith("meal") and rate.valid_from.year > 2023):
                scheme.rates.remove(rate)
                continue
            rate.source_url, rate.to_be_confirmed = "", False
            if rate.kind == RateKind.PASSENGER_KM:
                rate.valid_to = None
    with session_scope(engine_of(app)) as session:
        report = load_rate_schemes(session)
        assert (report.schemes_added, report.rates_added, report.periods_closed) == (0, 9, 1)
    with session_scope(engine_of(app)) as session:
        scheme = session.scalar(sa.select(RateScheme).where(RateScheme.code == "state"))
        assert scheme.allowance_rules == {"over_km": 15, "from_hours": 6, "over_hours_long": 12}
        by_key = {(r.kind, r.valid_from): r for r in scheme.rates}
        passenger = by_key[(RateKind.PASSENGER_KM, date(2023, 1, 1))]
        assert passenger.valid_to == date(2024, 12, 31)
        assert "dfo.no" in passenger.source_url
        assert not passenger.to_be_confirmed
        car_2025 = by_key[(RateKind.CAR_KM, date(2025, 1, 1))]
        assert car_2025.to_be_confirmed
        assert car_2025.source_url
        assert by_key[(RateKind.NIGHT_SUPPLEMENT, date(2022, 1, 1))].amount_ore == 43_500
        assert all(r.source_url or r.to_be_confirmed for r in scheme.rates)
    with session_scope(engine_of(app)) as session:
        assert load_rate_schemes(session) == type(report)(0, 0, 0)


def test_rates_load_command(app_config, app):
    # The fixture's app has only the enrollment plugin until the lead wires refunds in.
    with_refunds = create_app({**app_config, "PLUGINS": ["enrollment", "refunds"]})
    runner = with_refunds.test_cli_runner()
    first = runner.invoke(args=["rates", "load"])
    assert "1 added; rates: 20 added" in first.output, first.output
    again = runner.invoke(args=["rates", "load"])
    assert "0 added; rates: 0 added, 0 periods closed" in again.output
    with_refunds.extensions["kp_engine"].dispose()


def test_add_rate_closes_the_open_period_and_is_audited(setup):
    app = setup.app
    admin = staff_user(app, setup.make_staff("admin@sf.no", admin=True))
    with session_scope(engine_of(app)) as session:
        scheme_id = session.scalar(sa.select(RateScheme.id).where(RateScheme.code == "state"))
        add_rate(session, scheme_id, RateKind.CAR_KM, valid_from=date(2027, 1, 1),
                          amount_ore=550, actor=admin)
        with pytest.raises(InvalidInput):
            add_rate(session, scheme_id, RateKind.CAR_KM,
                              valid_from=date(2026, 6, 1), amount_ore=560, actor=admin)
    with session_scope(engine_of(app)) as session:
        rates = session.scalars(sa.select(Rate).where(Rate.kind == RateKind.CAR_KM)
                                .order_by(Rate.valid_from)).all()
        assert [(r.amount_ore, r.valid_to) for r in rates[-2:]] == [
            (530, date(2026, 12, 31)), (550, None)]
        assert session.scalar(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "rate")) == "rate.add"
