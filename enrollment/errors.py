"""The enrollment plugin's domain errors, and the message each one shows a person.

A service raises one of these when a rule refuses an operation; ``code`` names the rule. What a
person reads about it is in ``MESSAGES``, one table for the whole plugin, and ``message(exc)``
gives it in the active language (a few messages need a value from the error itself). A routes
module that tells the person something more particular to its page (a message next to a field)
says so where it catches the error.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from enrollment.models import Enrollment, EnrollmentStatus, OfferingStatus


class EnrollmentError(Exception):
    """A domain rule refused the operation; ``code`` names which."""

    code = "error"


class NotEligible(EnrollmentError):
    """The person's role may not enroll in this course kind."""

    code = "not_eligible"


class NotOpenYet(EnrollmentError):
    """Enrollment has not opened."""

    code = "not_open_yet"


class EnrollmentClosed(EnrollmentError):
    """The enrollment deadline has passed."""

    code = "closed"


class OfferingCancelled(EnrollmentError):
    """The offering is cancelled or not published."""

    code = "cancelled"


class AlreadyEnrolled(EnrollmentError):
    """An active enrollment with the same e-mail or HPR number exists."""

    code = "duplicate"

    def __init__(self, existing: Enrollment):
        super().__init__("already enrolled")
        self.existing = existing
        self.existing_id = existing.id


class CancelDeadlinePassed(EnrollmentError):
    """The participant can no longer cancel by themselves."""

    code = "cancel_deadline"


class InvalidTransition(EnrollmentError):
    """The status change is not in ``TRANSITIONS``."""

    code = "invalid_transition"

    def __init__(self, current: EnrollmentStatus, target: EnrollmentStatus):
        super().__init__(f"{current.value} → {target.value} is not allowed")
        self.current, self.target = current, target


class CourseFull(InvalidTransition):
    """No seat is free for a confirmation."""

    code = "full"

    def __init__(self, current: EnrollmentStatus):
        EnrollmentError.__init__(self, "no free seat")
        self.current, self.target = current, EnrollmentStatus.CONFIRMED



class OfferingError(EnrollmentError):
    """A rule about offerings, sessions or objectives refused the operation."""

    code = "offering_error"


class InvalidOfferingTransition(OfferingError):
    """The status change is not in ``OFFERING_TRANSITIONS``."""

    code = "invalid_offering_transition"

    def __init__(self, current: OfferingStatus, target: OfferingStatus):
        super().__init__(f"{current.value} → {target.value} is not allowed")
        self.current, self.target = current, target


class NoSessions(OfferingError):
    """An offering without a single session cannot be published."""

    code = "no_sessions"


class HasParticipants(OfferingError):
    """Unpublishing would hide a course people are enrolled in; it must be cancelled instead."""

    code = "has_participants"


class InvalidCapacity(OfferingError):
    """The capacity is negative or larger than ``MAX_CAPACITY``."""

    code = "invalid_capacity"


class CapacityBelowTaken(InvalidCapacity):
    """The new capacity is smaller than the number of seats already taken."""

    code = "capacity_below_taken"

    def __init__(self, capacity: int, seats_taken: int):
        super().__init__(f"capacity {capacity} is below the {seats_taken} seats taken")
        self.capacity, self.seats_taken = capacity, seats_taken


class InvalidSchedule(OfferingError):
    """A period ends before it starts (enrollment window or session)."""

    code = "invalid_schedule"


class UnknownReference(OfferingError):
    """The course kind or county named does not exist."""

    code = "unknown_reference"


class CohortMismatch(OfferingError):
    """The cohort is missing where the course kind needs one, or of another scheme."""

    code = "cohort_mismatch"


class SessionHasAttendance(OfferingError):
    """Attendance is marked for the session; removing it would lose the record."""

    code = "session_has_attendance"


class AttendanceBeforeStart(OfferingError):
    """Attendance was recorded for the session before the time it would be moved to: the
    record would then say someone attended a day that had not begun."""

    code = "attendance_before_start"


class LastSession(OfferingError):
    """The only session of a published offering cannot be removed."""

    code = "last_session"


class DuplicateObjectiveCode(OfferingError):
    """Two learning objectives of one kind would have the same code."""

    code = "duplicate_objective_code"

    def __init__(self, objective_code: str):
        super().__init__(f"objective code {objective_code!r} is used twice")
        self.objective_code = objective_code


class UnknownObjective(OfferingError):
    """An objective id that does not belong to the kind."""

    code = "unknown_objective"



class ReasonRequired(EnrollmentError):
    """A rejection must tell the participant why."""

    code = "reason_required"


class NotMovable(EnrollmentError):
    """The target offering is not another offering of the same kind in the same county."""

    code = "not_movable"



class AttendanceNotOpen(EnrollmentError):
    """The course day has not begun, so no attendance can be recorded for it yet."""

    code = "attendance_not_open"

    def __init__(self, opens_at: datetime):
        super().__init__(f"attendance opens at {opens_at.isoformat()}")
        self.opens_at = opens_at


# What a person reads when a rule refuses, by the error's ``code``. An error without its own
# entry shows the entry of the nearest class it derives from.
MESSAGES = {
    NotOpenYet.code: _l("Enrollment to this course has not opened yet."),
    EnrollmentClosed.code: _l("The enrollment deadline for this course has passed."),
    OfferingCancelled.code: _l("This course is cancelled and takes no enrollments."),
    NoSessions.code: _l("Add at least one course day before you publish the course."),
    HasParticipants.code: _l("People are enrolled in this course, so it cannot be "
                             "unpublished. Cancel it instead, so that they are told."),
    SessionHasAttendance.code: _l("Attendance is marked for this course day, so it cannot "
                                  "be removed."),
    AttendanceBeforeStart.code: _l("Attendance is already recorded for this course day, "
                                   "so it cannot be moved to start after the attendance "
                                   "was recorded."),
    LastSession.code: _l("A published course needs at least one course day. Add another "
                         "day first, or unpublish the course."),
    InvalidSchedule.code: _l("The times do not fit: something ends before it starts."),
    InvalidCapacity.code: _l("Enter a number of seats from 1 to 1,000."),
    UnknownReference.code: _l("The course kind or office no longer exists."),
    CohortMismatch.code: _l("The cohort does not fit the course kind."),
}


def message(exc: EnrollmentError) -> str:
    """What the person reads about ``exc``, in the active language."""
    if isinstance(exc, InvalidOfferingTransition):
        if exc.current == OfferingStatus.CANCELLED:
            return _("The course is cancelled; it cannot be changed that way.")
        if exc.target == OfferingStatus.PUBLISHED:
            return _("The course is already published.")
        return _("The course is not published.")
    if isinstance(exc, CapacityBelowTaken):
        return ngettext("%(num)d seat is taken, so the capacity cannot be lower than that.",
                        "%(num)d seats are taken, so the capacity cannot be lower than that.",
                        exc.seats_taken)
    for cls in type(exc).__mro__:
        if getattr(cls, "code", None) in MESSAGES:
            return str(MESSAGES[cls.code])
    return _("The change could not be made.")
