"""The mails that follow a change of an enrollment (received, promoted, cancelled, change of
address; staff decisions: approved, rejected, cancelled by staff, moved; a course the office
cancelled): subscribers record them in the change's transaction, renderers render them after
the commit."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from core.i18n import format_moment
from core.mail_kinds import Rendered, record_mail
from core.web import external_url
from enrollment import events
from enrollment.mail import shared
from enrollment.models import CourseOffering, EmailChange, Enrollment, EnrollmentStatus, about

# --- recording, in the change's transaction -----------------------------------------------------


def on_enrolled(_app, *, session, enrollment, token, position, **_data) -> None:
    """The outcome of an enrollment, with the manage link and the course days (.ics)."""
    shared.record(session, "enrolled", enrollment, token=token, position=position,
            status=enrollment.status.value)


def on_enrolled_again(_app, *, session, enrollment, token, position, **_data) -> None:
    """The holder of an enrollment sent the form again: a fresh link, nothing changed."""
    shared.record(session, "enrolled_again", enrollment, token=token, position=position,
            status=enrollment.status.value)


def on_promoted(_app, *, session, enrollment, **_data) -> None:
    """A seat from the waiting list."""
    shared.record(session, "promoted", enrollment)


def on_cancelled(_app, *, session, enrollment, by_staff, **_data) -> None:
    """The cancellation confirmed (or, by staff, told with its reason)."""
    shared.record(session, "cancelled_by_staff" if by_staff else "cancelled", enrollment)


def on_approved(_app, *, session, enrollment, position, **_data) -> None:
    """Approved: a seat, or a place on the waiting list."""
    shared.record(session, "approved", enrollment, position=position)


def on_rejected(_app, *, session, enrollment, **_data) -> None:
    """Not approved, and why."""
    shared.record(session, "rejected", enrollment)


def on_moved(_app, *, session, old, new, position, **_data) -> None:
    """Moved to another course, with its days."""
    shared.record(session, "moved", new, old_enrollment_id=old.id, position=position)


def on_offering_cancelled(_app, *, session, cancelled, reason, **_data) -> None:
    """The course is cancelled: each participant whose enrollment it cancelled."""
    for enrollment in cancelled:
        shared.record(session, "offering_cancelled", enrollment, reason=reason)


def on_email_change_requested(_app, *, session, change, confirm_token, cancel_token,
                              **_data) -> None:
    """The link that confirms a new address, to it; the link that stops it, to the old one."""
    person = change.participant
    for kind, to, token in (("email_confirm", change.new_email, confirm_token),
                            ("email_notice", person.email, cancel_token)):
        record_mail(session, f"enrollment.{kind}", to=to, locale=person.locale,
                    about=about(person), change_id=change.id, token=token)


SUBSCRIBERS = [
    (events.enrolled, on_enrolled),
    (events.enrolled_again, on_enrolled_again),
    (events.cancelled, on_cancelled),
    (events.promoted, on_promoted),
    (events.approved, on_approved),
    (events.rejected, on_rejected),
    (events.moved, on_moved),
    (events.offering_cancelled, on_offering_cancelled),
    (events.email_change_requested, on_email_change_requested),
]


# --- rendering, after the commit ---------------------------------------------------------------


def render_enrolled(session: Session, params: dict) -> Rendered | None:
    """``enrollment.enrolled``: the outcome as it was decided, the manage link, the .ics."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    title = shared.title(enrollment)
    subjects = {
        EnrollmentStatus.CONFIRMED: _("Enrollment confirmed: %(title)s", title=title),
        EnrollmentStatus.WAITLISTED: _("You are on the waiting list: %(title)s", title=title),
        EnrollmentStatus.PENDING: _("Enrollment received, pending approval: %(title)s",
                                    title=title),
    }
    status = EnrollmentStatus(params["status"])  # as decided, whatever happened since
    return shared.render("enrolled", subjects[status], enrollment,
                         [shared.ics(enrollment.offering, enrollment.participant.locale)],
                         manage_url=external_url("enrollment.manage", token=params["token"]),
                         position=params.get("position"), status=status.value)


def render_enrolled_again(session: Session, params: dict) -> Rendered | None:
    """``enrollment.enrolled_again``: nothing changed, and a fresh link."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    return shared.render("already_enrolled",
                         _("You are already enrolled: %(title)s",
                           title=shared.title(enrollment)),
                         enrollment,
                         manage_url=external_url("enrollment.manage", token=params["token"]),
                         position=params.get("position"), status=params["status"])


Subject = Callable[[str], str]  # the subject line, given the course's title


def _simple(template: str, subject: Subject) -> Callable[[Session, dict], Rendered | None]:
    """The renderer of a mail that needs the enrollment and its course page."""
    def renderer(session: Session, params: dict) -> Rendered | None:
        enrollment = shared.load(session, params["enrollment_id"])
        if enrollment is None:
            return None
        return shared.render(template, subject(shared.title(enrollment)), enrollment,
                             course_url=shared.course_url(enrollment),
                             position=params.get("position"))
    return renderer


def render_offering_cancelled(session: Session, params: dict) -> Rendered | None:
    """``enrollment.offering_cancelled``: the course is cancelled, with the reason given."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    return shared.render("offering_cancelled",
                         _("Course cancelled: %(title)s", title=shared.title(enrollment)),
                         enrollment,
                         reason=params.get("reason") or "",
                         catalog_url=external_url("enrollment.show_catalog"))


def render_moved(session: Session, params: dict) -> Rendered | None:
    """``enrollment.moved``: which course the person was moved to, with its days."""
    new = shared.load(session, params["enrollment_id"])
    old = session.get(Enrollment, params["old_enrollment_id"])
    if new is None or old is None:
        return None
    locale = new.participant.locale
    return shared.render("decision_moved",
                         _("Your enrollment has been moved: %(title)s",
                           title=shared.title(new)),
                         new,
                         [shared.ics(new.offering, locale)], course_url=shared.course_url(new),
                         old_course=shared.course_label(old.offering, locale),
                         position=params.get("position"))


def _address_change(template: str, subject: Subject) -> Callable[[Session, dict],
                                                                Rendered | None]:
    """The renderer of a change-of-address mail (to the new or the old address)."""
    def renderer(session: Session, params: dict) -> Rendered | None:
        change = session.get(EmailChange, params["change_id"], options=[
            joinedload(EmailChange.participant),
            joinedload(EmailChange.enrollment).joinedload(Enrollment.offering)
            .selectinload(CourseOffering.sessions)])
        if change is None or not change.participant.email:
            return None
        enrollment, person = change.enrollment, change.participant
        return shared.render(template, subject(enrollment.offering.title(person.locale)),
                             enrollment, change=change, new_email=change.new_email,
                             old_email=person.email,
                             expires=format_moment(change.expires_at, person.locale),
                             url=external_url("enrollment.email_change_page",
                                              token=params["token"]))
    return renderer


def render_approved(session: Session, params: dict) -> Rendered | None:
    """``enrollment.approved``: a seat, or a place on the waiting list."""
    enrollment = shared.load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    title, position = shared.title(enrollment), params.get("position")
    if position is None:
        subject = _("Enrollment confirmed: %(title)s", title=title)
    else:
        subject = _("You are on the waiting list: %(title)s", title=title)
    return shared.render("decision_approved", subject, enrollment,
                         course_url=shared.course_url(enrollment), position=position)


RENDERERS = {
    "enrollment.enrolled": render_enrolled,
    "enrollment.enrolled_again": render_enrolled_again,
    "enrollment.promoted": _simple(
        "promoted", lambda title: _("You now have a seat: %(title)s", title=title)),
    "enrollment.cancelled": _simple(
        "cancelled", lambda title: _("Your enrollment is cancelled: %(title)s", title=title)),
    "enrollment.cancelled_by_staff": _simple(
        "decision_cancelled",
        lambda title: _("Your enrollment is cancelled: %(title)s", title=title)),
    "enrollment.approved": render_approved,
    "enrollment.rejected": _simple(
        "decision_rejected",
        lambda title: _("Your enrollment was not approved: %(title)s", title=title)),
    "enrollment.moved": render_moved,
    "enrollment.offering_cancelled": render_offering_cancelled,
    "enrollment.email_confirm": _address_change(
        "email_confirm",
        lambda title: _("Confirm your new e-mail address: %(title)s", title=title)),
    "enrollment.email_notice": _address_change(
        "email_notice",
        lambda title: _("Your e-mail address is being changed: %(title)s", title=title)),
}

