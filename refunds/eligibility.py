"""Who may claim travel costs, and when: a confirmed LIS1 doctor or intern (not a supervisor)
in a refund-eligible offering, from the first session's date until the claim deadline."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from core.i18n import to_local
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Role
from refunds.errors import NotEligible, OutsideClaimWindow, RefundError

# Supervisors are not refunded.
REFUNDED_ROLES = frozenset({Role.LIS1, Role.PHYSIO_INTERN, Role.CHIRO_INTERN})
DEFAULT_DEADLINE_MONTHS = 3


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def claim_window(
    offering: CourseOffering, deadline_months: int = DEFAULT_DEADLINE_MONTHS
) -> tuple[date, date]:
    """The first and last day (Oslo dates, inclusive) claims for ``offering`` are taken:
    from its first session's date to ``deadline_months`` after its last session."""
    if not offering.sessions:
        raise NotEligible(code="no_sessions")
    starts = sorted(s.starts_at for s in offering.sessions)
    opens = to_local(starts[0]).date()
    return opens, _add_months(to_local(starts[-1]).date(), deadline_months)


def role_refunded(offering: CourseOffering, role: Role) -> bool:
    """Whether a confirmed participant in ``role`` is refunded travel costs in ``offering``.

    The one rule: the course page states it (registered with enrollment) and
    ``check_eligible`` enforces it.
    """
    return offering.refund_eligible and role in REFUNDED_ROLES


def check_eligible(enrollment: Enrollment) -> None:
    """Raise ``NotEligible`` unless this enrollment can give a travel refund at all.

    Who is never refunded is told so first, so that nobody who cannot claim reads that they
    may once their enrollment is confirmed.
    """
    if not enrollment.offering.refund_eligible:
        raise NotEligible(code="offering_not_eligible")
    if not role_refunded(enrollment.offering, enrollment.participant.role):
        raise NotEligible(code="role_not_refunded")
    if enrollment.status != EnrollmentStatus.CONFIRMED:
        raise NotEligible(code="not_confirmed")


def check_window(
    enrollment: Enrollment, now: datetime, deadline_months: int = DEFAULT_DEADLINE_MONTHS,
    *, allow_early: bool = False,
) -> tuple[date, date]:
    """Raise ``OutsideClaimWindow`` unless ``now`` is in the claim window (a draft may be
    started early with ``allow_early``); returns the window."""
    opens, closes = claim_window(enrollment.offering, deadline_months)
    today = to_local(now).date()
    if today > closes:
        raise OutsideClaimWindow("window_closed", opens, closes)
    if today < opens and not allow_early:
        raise OutsideClaimWindow("window_not_open", opens, closes)
    return opens, closes


def claim_problem(
    enrollment: Enrollment, now: datetime, deadline_months: int = DEFAULT_DEADLINE_MONTHS
) -> str | None:
    """Why this enrollment cannot start a claim now (an error code), or None if it can.

    For the manage page's panel: whether to offer "Krav om reiserefusjon" or say why not.
    """
    try:
        check_eligible(enrollment)
        check_window(enrollment, now, deadline_months, allow_early=True)
    except RefundError as exc:
        return exc.code
    return None
