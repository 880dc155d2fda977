"""Every e-mail of the enrollment plugin: to participants about their enrollment (received,
promoted, cancelled, lost links, change of address), about staff decisions (approved, rejected,
cancelled by staff, moved) and about a course the office cancelled, each in the participant's
own language.

The mails that follow a change are recorded mail (``core.mail_kinds``): a subscriber of the
change's event (``enrollment.events``) records the kind, the recipient, the language and the ids
and facts of the moment (a fresh manage-link token, a waiting-list place) in the outbox, in the
change's transaction; the renderer of the kind loads what it needs by id and renders the
templates after the commit, so nothing is rendered while the offering's seat lock is held. The
lost-link job (``core.jobs``) runs in the sender, after any commit, and renders its mail at once.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from core.db import utcnow
from core.events import subscribe
from core.i18n import format_moment, format_short_day
from core.mail import Attachment, queue_mail
from core.mail_kinds import Rendered, record_mail, register_mail
from core.web import external_url, public_host
from enrollment import events
from enrollment.calendar import offering_ics
from enrollment.models import (
    CourseOffering,
    EmailChange,
    Enrollment,
    EnrollmentStatus,
    PrivacyLink,
    PrivacyPurpose,
    about,
)
from enrollment.services.links import active_enrollments_for_email, issue_link

# --- recording, in the change's transaction -----------------------------------------------------


def _record(session: Session, kind: str, enrollment: Enrollment, **params) -> None:
    person = enrollment.participant
    if not person.email:  # anonymised (privacy purge or erasure): nobody to write to
        return
    record_mail(session, f"enrollment.{kind}", to=person.email, locale=person.locale,
                about=about(person), enrollment_id=enrollment.id, **params)


def on_enrolled(_app, *, session, enrollment, token, position, **_data) -> None:
    """The outcome of an enrollment, with the manage link and the course days (.ics)."""
    _record(session, "enrolled", enrollment, token=token, position=position,
            status=enrollment.status.value)


def on_enrolled_again(_app, *, session, enrollment, token, position, **_data) -> None:
    """The holder of an enrollment sent the form again: a fresh link, nothing changed."""
    _record(session, "enrolled_again", enrollment, token=token, position=position,
            status=enrollment.status.value)


def on_promoted(_app, *, session, enrollment, **_data) -> None:
    """A seat from the waiting list."""
    _record(session, "promoted", enrollment)


def on_cancelled(_app, *, session, enrollment, by_staff, **_data) -> None:
    """The cancellation confirmed (or, by staff, told with its reason)."""
    _record(session, "cancelled_by_staff" if by_staff else "cancelled", enrollment)


def on_approved(_app, *, session, enrollment, position, **_data) -> None:
    """Approved: a seat, or a place on the waiting list."""
    _record(session, "approved", enrollment, position=position)


def on_rejected(_app, *, session, enrollment, **_data) -> None:
    """Not approved, and why."""
    _record(session, "rejected", enrollment)


def on_moved(_app, *, session, old, new, position, **_data) -> None:
    """Moved to another course, with its days."""
    _record(session, "moved", new, old_enrollment_id=old.id, position=position)


def on_offering_cancelled(_app, *, session, cancelled, reason, **_data) -> None:
    """The course is cancelled: each participant whose enrollment it cancelled."""
    for enrollment in cancelled:
        _record(session, "offering_cancelled", enrollment, reason=reason)


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


def _load(session: Session, enrollment_id: int) -> Enrollment | None:
    enrollment = session.get(Enrollment, enrollment_id, options=[
        joinedload(Enrollment.participant),
        joinedload(Enrollment.offering).joinedload(CourseOffering.county),
        joinedload(Enrollment.offering).joinedload(CourseOffering.kind),
        joinedload(Enrollment.offering).selectinload(CourseOffering.sessions)])
    if enrollment is None or not enrollment.participant.email:
        return None  # gone, or anonymised since: nobody to write to
    return enrollment


def _render(template: str, subject: str, enrollment: Enrollment, attachments=(),
            **context) -> Rendered:
    person = enrollment.participant
    context.update(enrollment=enrollment, offering=enrollment.offering, person=person,
                   locale=person.locale)
    return Rendered(subject, render_template(f"enrollment/mail/{template}.txt", **context),
                    render_template(f"enrollment/mail/{template}.html", **context),
                    attachments)


def _title(enrollment: Enrollment) -> str:
    return enrollment.offering.title(enrollment.participant.locale)


def _course_url(enrollment: Enrollment) -> str:
    return external_url("enrollment.show_course", offering_id=enrollment.offering_id)


def _ics(offering: CourseOffering, locale: str) -> Attachment:
    body = offering_ics(offering, locale, public_host(),
                        external_url("enrollment.show_course", offering_id=offering.id))
    return Attachment(f"course-{offering.id}.ics", "text/calendar", body)


def render_enrolled(session: Session, params: dict) -> Rendered | None:
    """``enrollment.enrolled``: the outcome as it was decided, the manage link, the .ics."""
    enrollment = _load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    title = _title(enrollment)
    subjects = {
        EnrollmentStatus.CONFIRMED: _("Enrollment confirmed: %(title)s", title=title),
        EnrollmentStatus.WAITLISTED: _("You are on the waiting list: %(title)s", title=title),
        EnrollmentStatus.PENDING: _("Enrollment received, pending approval: %(title)s",
                                    title=title),
    }
    status = EnrollmentStatus(params["status"])  # as decided, whatever happened since
    return _render("enrolled", subjects[status], enrollment,
                   [_ics(enrollment.offering, enrollment.participant.locale)],
                   manage_url=external_url("enrollment.manage", token=params["token"]),
                   position=params.get("position"), status=status.value)


def render_enrolled_again(session: Session, params: dict) -> Rendered | None:
    """``enrollment.enrolled_again``: nothing changed, and a fresh link."""
    enrollment = _load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    return _render("already_enrolled",
                   _("You are already enrolled: %(title)s", title=_title(enrollment)),
                   enrollment, manage_url=external_url("enrollment.manage",
                                                       token=params["token"]),
                   position=params.get("position"), status=params["status"])


Subject = Callable[[str], str]  # the subject line, given the course's title


def _simple(template: str, subject: Subject) -> Callable[[Session, dict], Rendered | None]:
    """The renderer of a mail that needs the enrollment and its course page."""
    def renderer(session: Session, params: dict) -> Rendered | None:
        enrollment = _load(session, params["enrollment_id"])
        if enrollment is None:
            return None
        return _render(template, subject(_title(enrollment)), enrollment,
                       course_url=_course_url(enrollment), position=params.get("position"))
    return renderer


def render_offering_cancelled(session: Session, params: dict) -> Rendered | None:
    """``enrollment.offering_cancelled``: the course is cancelled, with the reason given."""
    enrollment = _load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    return _render("offering_cancelled",
                   _("Course cancelled: %(title)s", title=_title(enrollment)), enrollment,
                   reason=params.get("reason") or "",
                   catalog_url=external_url("enrollment.show_catalog"))


def render_moved(session: Session, params: dict) -> Rendered | None:
    """``enrollment.moved``: which course the person was moved to, with its days."""
    new = _load(session, params["enrollment_id"])
    old = session.get(Enrollment, params["old_enrollment_id"])
    if new is None or old is None:
        return None
    locale = new.participant.locale
    return _render("decision_moved",
                   _("Your enrollment has been moved: %(title)s", title=_title(new)), new,
                   [_ics(new.offering, locale)], course_url=_course_url(new),
                   old_course=_course_label(old.offering, locale),
                   position=params.get("position"))


def _course_label(offering: CourseOffering, locale: str) -> str:
    """An offering's title with its first day, since two offerings often share a title."""
    title = offering.title(locale)
    if not offering.sessions:
        return title
    return f"{title}, {format_short_day(offering.sessions[0].starts_at, locale)}"


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
        return _render(template, subject(enrollment.offering.title(person.locale)),
                       enrollment, change=change, new_email=change.new_email,
                       old_email=person.email,
                       expires=format_moment(change.expires_at, person.locale),
                       url=external_url("enrollment.email_change_page", token=params["token"]))
    return renderer


def render_approved(session: Session, params: dict) -> Rendered | None:
    """``enrollment.approved``: a seat, or a place on the waiting list."""
    enrollment = _load(session, params["enrollment_id"])
    if enrollment is None:
        return None
    title, position = _title(enrollment), params.get("position")
    if position is None:
        subject = _("Enrollment confirmed: %(title)s", title=title)
    else:
        subject = _("You are on the waiting list: %(title)s", title=title)
    return _render("decision_approved", subject, enrollment,
                   course_url=_course_url(enrollment), position=position)


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


def init_app(app: Flask) -> None:
    """Subscribe the mail to the plugin's events and register each kind's renderer."""
    for signal, receiver in SUBSCRIBERS:
        subscribe(app, signal, receiver)
    for kind, renderer in RENDERERS.items():
        register_mail(app, kind, renderer)


# --- the lost-link job ---------------------------------------------------------------------------


def notify_links(session: Session, email: str, links: list[tuple[Enrollment, str]]) -> None:
    """Send fresh manage links for every active enrollment of an address, in one e-mail."""
    first = links[0][0]
    locale = first.participant.locale
    with force_locale(locale):
        items = [(e, external_url("enrollment.manage", token=t)) for e, t in links]
        context = dict(items=items, locale=locale)
        text = render_template("enrollment/mail/links.txt", **context)
        html = render_template("enrollment/mail/links.html", **context)
        queue_mail(session, to=email, subject=_("Links to your enrollments"), text=text,
                   html=html, locale=locale, about=about(first.participant))


LOST_LINK_JOB = "enrollment.lost_link"


def send_lost_links(session: Session, payload: dict) -> None:
    """The lost-link job (``core.jobs``): a fresh manage link for each active enrollment of the
    address, in one mail; nothing when the address has none. The links already sent keep
    working, so asking cuts nobody off."""
    email = payload.get("email") or ""
    enrollments = [] if "\x00" in email else active_enrollments_for_email(session, email)
    if not enrollments:
        return
    now = utcnow()
    links = [(e, issue_link(session, e, now)) for e in enrollments]
    notify_links(session, enrollments[0].participant.email, links)


# --- privacy links (``services.privacy_links``): recorded, rendered after the commit -------------

PRIVACY_LINK = "enrollment.privacy_link"


def record_privacy_link(session: Session, link: PrivacyLink, token: str) -> None:
    """Record the mail with a privacy link to the address it is for; the token goes in the
    row's facts, like a fresh manage link (the export leaves it out)."""
    person = link.participant
    record_mail(session, PRIVACY_LINK, to=link.email, locale=person.locale, about=about(person),
                link_id=link.id, token=token)


def render_privacy_link(session: Session, params: dict) -> Rendered | None:
    """The mail with the link that delivers the person's data or files their erasure request;
    None when the link is gone (the person was erased meanwhile)."""
    link = session.get(PrivacyLink, params["link_id"])
    if link is None:
        return None
    person, offering = link.participant, link.enrollment.offering
    export = link.purpose == PrivacyPurpose.EXPORT
    office = offering.county.office(person.locale)
    context = dict(person=person, offering=offering, locale=person.locale, export=export,
                   url=external_url("enrollment.personal_data_link", token=params["token"]),
                   expires=format_moment(link.expires_at, person.locale))
    subject = (_("Download your data: %(office)s", office=office) if export
               else _("Confirm your request for erasure: %(office)s", office=office))
    return Rendered(subject=subject,
                    text=render_template("enrollment/mail/privacy_link.txt", **context),
                    html=render_template("enrollment/mail/privacy_link.html", **context))


def register_privacy_mail(app: Flask) -> None:
    """Let the recorded privacy-link mail be rendered."""
    register_mail(app, PRIVACY_LINK, render_privacy_link)
