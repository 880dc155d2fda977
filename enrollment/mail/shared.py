"""What the enrollment plugin's mails share: loading an enrollment for its mail, rendering a
template pair, the course's title, page, label and calendar file."""

from __future__ import annotations

from flask import render_template
from sqlalchemy.orm import Session, joinedload

from core.i18n import format_short_day
from core.mail import Attachment
from core.mail_kinds import Rendered, record_mail
from core.web import external_url, public_host
from enrollment.calendar import offering_ics
from enrollment.models import CourseOffering, Enrollment, about


def record(session: Session, kind: str, enrollment: Enrollment, **params) -> None:
    """Record mail of ``enrollment.<kind>`` to the enrollment's participant, unless the person
    has been anonymised."""
    person = enrollment.participant
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    record_mail(session, f"enrollment.{kind}", to=person.email, locale=person.locale,
                about=about(person), enrollment_id=enrollment.id, **params)


def load(session: Session, enrollment_id: int) -> Enrollment | None:
    """The enrollment with what its mail shows; None when gone or anonymised since."""
    enrollment = session.get(Enrollment, enrollment_id, options=[
        joinedload(Enrollment.participant),
        joinedload(Enrollment.offering).joinedload(CourseOffering.county),
        joinedload(Enrollment.offering).joinedload(CourseOffering.kind),
        joinedload(Enrollment.offering).selectinload(CourseOffering.sessions)])
    if enrollment is None or not enrollment.participant.email:
        return None  # gone, or anonymised since: nobody to write to
    return enrollment


def render(template: str, subject: str, enrollment: Enrollment, attachments=(),
           **context) -> Rendered:
    """Render ``enrollment/mail/<template>.txt`` and ``.html`` for the enrollment's person."""
    person = enrollment.participant
    context.update(enrollment=enrollment, offering=enrollment.offering, person=person,
                   locale=person.locale)
    return Rendered(subject, render_template(f"enrollment/mail/{template}.txt", **context),
                    render_template(f"enrollment/mail/{template}.html", **context),
                    attachments)


def title(enrollment: Enrollment) -> str:
    """The course's title in the person's language."""
    return enrollment.offering.title(enrollment.participant.locale)


def course_url(enrollment: Enrollment) -> str:
    """The public course page, from PUBLIC_BASE_URL."""
    return external_url("enrollment.show_course", offering_id=enrollment.offering_id)


def ics(offering: CourseOffering, locale: str, meeting_url: str = "") -> Attachment:
    """The course's days as a calendar file; ``meeting_url`` only in mail to a confirmed
    participant (the reminder)."""
    body = offering_ics(offering, locale, public_host(),
                        external_url("enrollment.show_course", offering_id=offering.id),
                        meeting_url=meeting_url)
    return Attachment(f"course-{offering.id}.ics", "text/calendar", body)


def course_label(offering: CourseOffering, locale: str) -> str:
    """An offering's title with its first day, since two offerings often share a title."""
    label = offering.title(locale)
    if not offering.sessions:
        return label
    return f"{label}, {format_short_day(offering.sessions[0].starts_at, locale)}"
