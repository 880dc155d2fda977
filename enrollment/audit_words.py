"""What the audit log calls enrollment's events, fields and objects, and how it names them:
participants by their name (an anonymised one as such), courses by their title, course days
by their course and date. Registered with ``core.audit`` by ``init_app``; each namer is one
query for all the objects of a page."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from core.audit import Subject, register_action, register_field, register_subject
from core.i18n import format_short_day
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Participant,
)

ACTIONS = {
    "enrollment.add": _l("Participant added by staff"),
    "enrollment.approve": _l("Enrollment approved"),
    "enrollment.reject": _l("Enrollment rejected"),
    "enrollment.cancel": _l("Enrollment cancelled by staff"),
    "enrollment.move": _l("Enrollment moved to another course"),
    "enrollment.links_withdrawn": _l("Other links to the enrollment withdrawn"),
    "enrollment.email_changed": _l("E-mail address changed"),
    "enrollment.email_change_stopped": _l("Change of e-mail address stopped"),
    "offering.create": _l("Course created"),
    "offering.update": _l("Course changed"),
    "offering.set_capacity": _l("Number of seats changed"),
    "offering.publish": _l("Course published"),
    "offering.unpublish": _l("Course taken back to draft"),
    "offering.cancel": _l("Course cancelled"),
    "session.add": _l("Course day added"),
    "session.move": _l("Course day changed"),
    "session.remove": _l("Course day removed"),
    "kind.update_objectives": _l("Learning objectives changed"),
    "privacy.erasure_requested": _l("Erasure requested"),
    "privacy.erasure_confirmed": _l("Erasure carried out"),
    "privacy.participants_merged": _l("Participants merged (same confirmed address)"),
    "enrollment.offer": _l("Seat offered from the waiting list"),
    "enrollment.offer_accepted": _l("Offered seat accepted"),
    "enrollment.offer_expired": _l("Offered seat not accepted in time"),
    "offering.message": _l("Message sent to participants"),
    "roster.upload": _l("Roster file uploaded"),
    "roster.import": _l("Roster file imported"),
    "roster.discard": _l("Roster file discarded"),
    "roster.match": _l("Enrollment matched to a roster entry by hand"),
    "roster.invite": _l("Roster people invited to a course"),
}
ATTENDANCE_MARKS = {True: _l("Present"), False: _l("Absent"), None: _l("Not recorded")}
ENROLLMENT_STATUSES = {status.value: status.title for status in EnrollmentStatus}
OFFERING_STATUSES = {
    OfferingStatus.DRAFT.value: _l("Draft"),
    OfferingStatus.PUBLISHED.value: _l("Published"),
    OfferingStatus.CANCELLED.value: _l("Cancelled"),
}
# Fields of any of enrollment's objects: (name, title, refers_to).
FIELDS = [
    ("offering_id", _l("Course"), "course_offering"),
    ("participant_id", _l("Participant"), "participant"),
    ("enrollment_id", _l("Enrollment"), "enrollment"),
    ("promoted", _l("Promoted from the waiting list"), "enrollment"),
    ("promoted_enrollments", _l("Promoted from the waiting list"), "enrollment"),
    ("active_enrollments", _l("Active enrollments"), "enrollment"),
    ("cancelled_enrollments", _l("Enrollments cancelled"), "enrollment"),
    ("merged", _l("Merged participant"), "participant"),
    ("enrollments", _l("Enrollments"), "enrollment"),
    ("kind_id", _l("Kind of course"), "course_kind"),
    ("status_reason", _l("Reason"), None),
    ("reason", _l("Reason"), None),
    ("withdrawn", _l("Links withdrawn"), None),
    ("request", _l("Request number"), None),
    ("changed", _l("Rows changed"), None),
    ("kept", _l("Kept by a hold"), None),
    ("cohort", _l("Cohort"), None),
    ("title_nn", _l("Title (Nynorsk)"), None),
    ("title_nb", _l("Title (Bokmål)"), None),
    ("title_en", _l("Title (English)"), None),
    ("description_nn", _l("Description (Nynorsk)"), None),
    ("description_nb", _l("Description (Bokmål)"), None),
    ("description_en", _l("Description (English)"), None),
    ("venue", _l("Venue"), None),
    ("capacity", _l("Seats"), None),
    ("seats_taken", _l("Seats taken"), None),
    ("enroll_opens_at", _l("Enrollment opens"), None),
    ("enroll_closes_at", _l("Enrollment deadline"), None),
    ("cancel_deadline", _l("Cancellation deadline"), None),
    ("requires_approval", _l("Requires approval"), None),
    ("refund_eligible", _l("Travel costs refunded"), None),
    ("min_share_percent", _l("Minimum attendance (%)"), None),
    ("signer_name", _l("Signed by"), None),
    ("signer_title", _l("Signer's title"), None),
    ("starts_at", _l("Start time"), None),
    ("ends_at", _l("End time"), None),
    ("place", _l("Place"), None),
    ("objectives", _l("Learning objectives"), None),
    ("reminder_days", _l("Reminder (days before the first course day)"), None),
    ("meeting_url", _l("Meeting link"), None),
    ("offer_hours", _l("Hours to accept an offered seat"), None),
]


def person(participant: Participant) -> Subject:
    """A participant as the log names them: their name, or that it was removed."""
    if participant.anonymised_at is not None:
        return Subject(_("Anonymised participant"), anonymised=True)
    return Subject(participant.full_name)


def participant_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Participants by name."""
    return {p.id: person(p) for p in session.scalars(
        sa.select(Participant).where(Participant.id.in_(ids)))}


def enrollment_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Enrollments by their participant's name."""
    rows = session.execute(sa.select(Enrollment.id, Participant).join(Enrollment.participant)
                           .where(Enrollment.id.in_(ids)))
    return {enrollment_id: person(participant) for enrollment_id, participant in rows}


def offering_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Courses by their title in the active language."""
    return {o.id: Subject(o.title()) for o in session.scalars(
        sa.select(CourseOffering).where(CourseOffering.id.in_(ids))
        .options(joinedload(CourseOffering.county), joinedload(CourseOffering.kind)))}


def session_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Course days by their course and date (a removed one by its number only)."""
    return {s.id: Subject(f"{s.offering.title()}, {format_short_day(s.starts_at)}")
            for s in session.scalars(
                sa.select(CourseSession).where(CourseSession.id.in_(ids))
                .options(joinedload(CourseSession.offering).joinedload(CourseOffering.county),
                         joinedload(CourseSession.offering).joinedload(CourseOffering.kind)))}


def kind_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Kinds of course by their name."""
    return {k.id: Subject(k.name()) for k in session.scalars(
        sa.select(CourseKind).where(CourseKind.id.in_(ids)))}


def init_app(app: Flask) -> None:
    """Register enrollment's words and namers with the audit log of ``app``."""
    register_subject(app, "enrollment", _l("Enrollment"), enrollment_names)
    register_subject(app, "participant", _l("Participant"), participant_names)
    register_subject(app, "course_offering", _l("Course"), offering_names)
    register_subject(app, "course_session", _l("Course day"), session_names)
    register_subject(app, "course_kind", _l("Kind of course"), kind_names)
    for name, title in ACTIONS.items():
        register_action(app, name, title)
    register_action(app, "attendance.save", _l("Attendance recorded"), keyed_by="enrollment",
                    values=ATTENDANCE_MARKS)
    for name, title, refers_to in FIELDS:
        register_field(app, name, title, refers_to=refers_to)
    register_field(app, "status", _l("Status"), object_type="enrollment",
                   values=ENROLLMENT_STATUSES)
    register_field(app, "status", _l("Status"), object_type="course_offering",
                   values=OFFERING_STATUSES)
