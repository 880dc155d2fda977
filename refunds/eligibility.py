"""Who may claim travel costs, and when: a confirmed LIS1 doctor or intern (not a supervisor)
in a refund-eligible offering, from the first session's date until the claim deadline; a claim
is sent in once the participant attended a session.

The one definition: the services enforce it (``check_eligible``, ``check_window``,
``journey.check_attended``), the course page states it (``role_refunded``, registered with
enrollment), and every claim page and template reads it from ``standing`` (whether a claim may
be started, whether it may be sent now, and why not) rather than working it out again.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from core.i18n import to_local
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Role
from refunds.errors import NotEligible, OutsideClaimWindow, RefundError
from refunds.journey import has_attended

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
    if not role_refunded(enrollment.offering, enrollment.role):
        raise NotEligible(code="role_not_refunded")
    if enrollment.status != EnrollmentStatus.CONFIRMED:
        raise NotEligible(code="not_confirmed")


@dataclass(frozen=True)
class Window:
    """When a claim may be submitted, and where today is in that window."""

    opens: date
    closes: date
    state: str  # "early", "open" or "closed"


def window_at(offering: CourseOffering, now: datetime,
              deadline_months: int = DEFAULT_DEADLINE_MONTHS) -> Window:
    """The offering's claim window and where ``now`` is in it (``NotEligible`` without
    sessions)."""
    opens, closes = claim_window(offering, deadline_months)
    today = to_local(now).date()
    state = "early" if today < opens else "closed" if today > closes else "open"
    return Window(opens, closes, state)


def check_window(
    enrollment: Enrollment, now: datetime, deadline_months: int = DEFAULT_DEADLINE_MONTHS,
    *, allow_early: bool = False,
) -> tuple[date, date]:
    """Raise ``OutsideClaimWindow`` unless ``now`` is in the claim window (a draft may be
    started early with ``allow_early``); returns the window."""
    window = window_at(enrollment.offering, now, deadline_months)
    if window.state == "closed":
        raise OutsideClaimWindow("window_closed", window.opens, window.closes)
    if window.state == "early" and not allow_early:
        raise OutsideClaimWindow("window_not_open", window.opens, window.closes)
    return window.opens, window.closes


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


@dataclass(frozen=True)
class Standing:
    """Where an enrollment stands for travel claims now: what the claim pages show and offer,
    by the rules the services enforce."""

    problem: str | None  # why no claim can be started now (a ``MESSAGES`` code), or None
    window: Window | None  # None when the offering has no sessions
    attended: bool  # a session recorded attended (a claim is sent in only then)

    @property
    def may_start(self) -> bool:
        """A claim (a draft) may be started or changed."""
        return self.problem is None

    @property
    def attendance_missing(self) -> bool:
        """The claim could be sent now but for the attendance not yet recorded."""
        return self.may_start and self.window is not None and self.window.state == "open" \
            and not self.attended

    @property
    def may_submit(self) -> bool:
        """The claim may be sent in now (``services.claims.check_can_submit`` agrees)."""
        return self.may_start and self.window is not None and self.window.state == "open" \
            and self.attended


def standing(session: Session, enrollment: Enrollment, now: datetime,
             deadline_months: int = DEFAULT_DEADLINE_MONTHS) -> Standing:
    """Where ``enrollment`` stands for travel claims at ``now``."""
    try:
        window = window_at(enrollment.offering, now, deadline_months)
    except NotEligible:
        window = None
    return Standing(problem=claim_problem(enrollment, now, deadline_months), window=window,
                    attended=has_attended(session, enrollment))
