"""The enrollment plugin's domain errors, and the message each one shows a person.

A service raises one of these when a rule refuses an operation; ``code`` names the rule, and a
service that refuses the same rule in other words for another audience (staff adding someone by
hand, not the person on the public form) raises it with its own ``code``. What a person reads
is in ``MESSAGES``, one table for the whole plugin: ``error.message`` gives it in the active
language (an error without an entry of its own shows the entry of the nearest class it derives
from). ``field`` names the form field the message goes next to (``core.transaction.refusals``),
``status`` the answer's status when the form is shown again.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.i18n import format_clock, format_day
from core.transaction import DomainError
from enrollment.models import Enrollment, EnrollmentStatus, OfferingStatus


class EnrollmentError(DomainError):
    """A domain rule refused the operation; ``code`` names which."""

    code = "error"
    status = 409

    @property
    def message(self) -> str:
        """The message in the current language: this error's entry, else its nearest class's."""
        for code in (self.code, *(getattr(c, "code", None) for c in type(self).__mro__)):
            if code in MESSAGES:
                text = str(MESSAGES[code])
                return text % self.params if self.params else text
        return str(MESSAGES[EnrollmentError.code])


class NotEligible(EnrollmentError):
    """The person's role may not enroll in this course kind."""

    code = "not_eligible"
    field = "role"
    status = 400


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
    field = "email"

    def __init__(self, existing: Enrollment, **kwargs):
        super().__init__("already enrolled", **kwargs)
        self.existing = existing
        self.existing_id = existing.id


class CancelDeadlinePassed(EnrollmentError):
    """The participant can no longer cancel by themselves; ``email`` is the office's address."""

    code = "cancel_deadline"


class InvalidTransition(EnrollmentError):
    """The status change is not in ``TRANSITIONS``."""

    code = "invalid_transition"

    def __init__(self, current: EnrollmentStatus, target: EnrollmentStatus, **kwargs):
        super().__init__(f"{current.value} → {target.value} is not allowed", **kwargs)
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
        if current == OfferingStatus.CANCELLED:
            code = "offering_already_cancelled"
        elif target == OfferingStatus.PUBLISHED:
            code = "already_published"
        else:
            code = "not_published"
        super().__init__(f"{current.value} → {target.value} is not allowed", code=code)
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
    field = "capacity"


class CapacityBelowTaken(InvalidCapacity):
    """The new capacity is smaller than the number of seats already taken."""

    code = "capacity_below_taken"

    def __init__(self, capacity: int, seats_taken: int):
        super().__init__(f"capacity {capacity} is below the {seats_taken} seats taken")
        self.capacity, self.seats_taken = capacity, seats_taken

    @property
    def message(self) -> str:
        """How many seats are taken, in the current language."""
        return ngettext("%(num)d seat is taken, so the capacity cannot be lower than that.",
                        "%(num)d seats are taken, so the capacity cannot be lower than that.",
                        self.seats_taken)


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
    field = "target"


class AttendanceNotOpen(EnrollmentError):
    """The course day has not begun, so no attendance can be recorded for it yet."""

    code = "attendance_not_open"

    def __init__(self, opens_at: datetime):
        super().__init__(f"attendance opens at {opens_at.isoformat()}")
        self.opens_at = opens_at

    @property
    def opens(self) -> str:
        """'Attendance can be recorded from tysdag 3. mars 2026 at 08:00.' (Oslo time)."""
        return _("Attendance can be recorded from %(day)s at %(time)s.",
                 day=format_day(self.opens_at), time=format_clock(self.opens_at))

    @property
    def message(self) -> str:
        """The attendance page's words: nothing was saved, and when the day opens."""
        return f"{_('Nothing was saved: this course day has not begun yet.')} {self.opens}"


class InvalidMessage(EnrollmentError):
    """A message's subject or body is empty, too long or holds control characters; ``field``
    says which, ``code`` what is wrong."""

    code = "message_invalid"
    status = 400


class NoRecipients(EnrollmentError):
    """Nobody in the offering is in the audience chosen for a message."""

    code = "no_recipients"
    field = "audience"


class RecipientsChanged(EnrollmentError):
    """The number of recipients is not the one staff confirmed (someone enrolled or left
    meanwhile); ``count`` is the number now."""

    code = "recipients_changed"
    field = "audience"

    def __init__(self, count: int):
        super().__init__(f"{count} recipients now", count=count)
        self.count = count
class RosterFileRejected(EnrollmentError):
    """An uploaded roster file cannot be read: too large, too many lines, not CSV or XLSX, or
    without the columns a roster needs (``code`` says which)."""

    code = "roster_file_unreadable"
    field = "file"
    status = 400


class ImportNotStaged(EnrollmentError):
    """The uploaded file was confirmed or discarded meanwhile (another tab, a colleague)."""

    code = "import_not_staged"


class NothingToImport(EnrollmentError):
    """Every line of the file has an error, so confirming would change nothing."""

    code = "nothing_to_import"
    status = 400


class NotACandidate(EnrollmentError):
    """The roster entry chosen for an enrollment is not one of its candidates."""

    code = "not_a_candidate"
    field = "entry"
    status = 400


class NotInvitable(EnrollmentError):
    """The offering chosen for invitations is not one the roster's people can be invited to:
    another office's, not open for enrollment, or not for the roster's role."""

    code = "not_invitable"
    field = "offering"
    status = 400


class OfferExpired(EnrollmentError):
    """The offered seat was not accepted in time: it has passed (or is passing) to the next
    person on the waiting list."""

    code = "offer_expired"


class NoOffer(EnrollmentError):
    """The enrollment holds no offer to accept or decline (accepted or withdrawn meanwhile)."""

    code = "no_offer"


# What a person reads when a rule refuses, by the error's ``code``. An error without its own
# entry shows the entry of the nearest class it derives from.
MESSAGES = {
    EnrollmentError.code: _l("The change could not be made."),
    # The person on the enrollment form, and on their manage link.
    NotOpenYet.code: _l("Enrollment to this course has not opened yet."),
    EnrollmentClosed.code: _l("The enrollment deadline for this course has passed."),
    OfferingCancelled.code: _l("This course is cancelled and takes no enrollments."),
    NotEligible.code: _l("This course is not open to your role. See who may enroll on the "
                         "course page."),
    CancelDeadlinePassed.code: _l("It is too late to cancel here. Please contact %(email)s."),
    "not_cancellable": _l("This enrollment cannot be cancelled."),
    OfferExpired.code: _l("The time to accept the seat has run out, so it has been offered "
                          "to the next person on the waiting list. Nothing was changed."),
    NoOffer.code: _l("There is no seat offer to answer any more. The page shows where your "
                     "enrollment stands now."),
    # Staff deciding on enrollments: the list shows what changed meanwhile.
    InvalidTransition.code: _l("This enrollment cannot be changed that way any more. The list "
                               "shows where it stands now."),
    ReasonRequired.code: _l("This enrollment cannot be changed that way any more. The list "
                            "shows where it stands now."),
    "role_not_admitted": _l("This course is not open to that role."),
    "already_in_course": _l("This person is already enrolled in this course (same e-mail or "
                            "HPR number)."),
    "already_in_target": _l("This person is already enrolled in that course."),
    NotMovable.code: _l("Choose one of the listed courses."),
    # Staff editing offerings, their days and the kinds' objectives.
    "offering_already_cancelled": _l("The course is cancelled; it cannot be changed that way."),
    "already_published": _l("The course is already published."),
    "not_published": _l("The course is not published."),
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
    DuplicateObjectiveCode.code: _l("The objectives changed meanwhile. Reload the page."),
    UnknownObjective.code: _l("The objectives changed meanwhile. Reload the page."),
    # Staff writing to an offering's participants.
    InvalidMessage.code: _l("Write the message as plain text."),
    "message_subject_missing": _l("Write a subject."),
    "message_subject_long": _l("Write a subject of at most %(max)s characters."),
    "message_body_missing": _l("Write the message."),
    "message_body_long": _l("Write a message of at most %(max)s characters."),
    "message_control_characters": _l("Remove the invisible control characters from this "
                                     "field."),
    NoRecipients.code: _l("Nobody is in the group you chose, so the message would reach no "
                          "one."),
    RecipientsChanged.code: _l("The number of recipients has changed to %(count)s since you "
                               "checked. Check the message and send it again."),
    # Staff importing cohort rosters.
    RosterFileRejected.code: _l("The file could not be read. Upload a CSV file or an Excel "
                                "workbook (.xlsx)."),
    "roster_file_too_large": _l("The file is too large: at most %(limit)s MB."),
    "roster_too_many_rows": _l("The file has too many lines: at most %(limit)s people."),
    "roster_file_empty": _l("The file has no people in it."),
    "roster_file_columns": _l("The file needs the columns name, e-mail, municipality and "
                              "start date (and may have HPR number and role)."),
    ImportNotStaged.code: _l("This file was already imported or discarded."),
    NothingToImport.code: _l("Every line of the file has an error, so there is nothing to "
                             "import. Correct the file and upload it again."),
    NotACandidate.code: _l("Choose one of the listed people."),
    NotInvitable.code: _l("Choose a course of the office that is open for enrollment and "
                          "admits the roster's role."),
}
EnrollmentError.MESSAGES = MESSAGES
