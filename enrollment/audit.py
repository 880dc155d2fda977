"""The audit log of the enrollment plugin, written by subscribers of its events
(``enrollment.events``): every staff decision on an enrollment, attendance, the offerings, their
days and the kinds' objectives, and what a participant does to their own links and address.
Each writes one ``core.audit`` event in the publisher's session, with the same action names and
fields as the log has always had."""

from __future__ import annotations

from flask import Flask

from core import audit
from core.events import subscribe
from enrollment import events
from enrollment.services.enrollments import state
from enrollment.services.links import ParticipantActor


def _enrollment(session, action: str, enrollment, before, after, actor) -> None:
    audit.record(session, actor=actor, action=action, object_type="enrollment",
                 object_id=enrollment.id, county_id=enrollment.offering.county_id,
                 before=before, after=after)


def on_enrolled(_app, *, session, enrollment, actor, **_data) -> None:
    """Staff adding someone by hand is audited (a person's own enrollment is not a decision)."""
    if actor is not None:
        _enrollment(session, "enrollment.add", enrollment, None,
                    {**state(enrollment), "participant_id": enrollment.participant_id}, actor)


def on_approved(_app, *, session, enrollment, before, actor, **_data) -> None:
    """A pending enrollment approved."""
    _enrollment(session, "enrollment.approve", enrollment, before, state(enrollment), actor)


def on_rejected(_app, *, session, enrollment, before, actor, **_data) -> None:
    """An enrollment rejected."""
    _enrollment(session, "enrollment.reject", enrollment, before, state(enrollment), actor)


def on_cancelled(_app, *, session, enrollment, by_staff, promoted, before, actor,
                 **_data) -> None:
    """A cancellation by staff, with whom it promoted."""
    if by_staff:
        _enrollment(session, "enrollment.cancel", enrollment, before,
                    {**state(enrollment), "promoted": [e.id for e in promoted]}, actor)


def on_moved(_app, *, session, old, new, promoted, before, actor, **_data) -> None:
    """A move, logged on the old enrollment with both ids."""
    _enrollment(session, "enrollment.move", old, {**before, "enrollment_id": old.id},
                {**state(new), "enrollment_id": new.id, "promoted": [e.id for e in promoted]},
                actor)


def on_offered(_app, *, session, enrollment, **_data) -> None:
    """A freed seat offered to the next in line (by whatever freed it), until when."""
    _enrollment(session, "enrollment.offer", enrollment, {"status": "waitlisted"},
                {**state(enrollment), "offer_expires_at": enrollment.offer_expires_at}, None)


def on_offer_accepted(_app, *, session, enrollment, **_data) -> None:
    """The participant took the offered seat."""
    _enrollment(session, "enrollment.offer_accepted", enrollment, {"status": "offered"},
                state(enrollment), ParticipantActor())


def on_offer_expired(_app, *, session, enrollment, promoted, **_data) -> None:
    """The offer ran out (the periodic command), and to whom the seat went next."""
    _enrollment(session, "enrollment.offer_expired", enrollment, {"status": "offered"},
                {**state(enrollment), "promoted": [e.id for e in promoted]}, None)


def on_links_withdrawn(_app, *, session, enrollment, withdrawn, **_data) -> None:
    """The participant withdrew their other links."""
    _enrollment(session, "enrollment.links_withdrawn", enrollment, None,
                {"withdrawn": withdrawn}, ParticipantActor())


def _address_change(action: str):
    def receiver(_app, *, session, change, **_data) -> None:
        audit.record(session, actor=ParticipantActor(), action=action,
                     object_type="participant", object_id=change.participant_id,
                     county_id=change.enrollment.offering.county_id,
                     after={"request": change.id})
    receiver.__name__ = f"on_{action.rsplit('.', 1)[-1]}"
    return receiver


ATTENDANCE_ACTION = "attendance.save"


def on_attendance_recorded(_app, *, session, course_session, before, after, actor,
                           **_data) -> None:
    """One event per save, every confirmed participant's mark before and after."""
    audit.record(session, actor=actor, action=ATTENDANCE_ACTION, object_type="course_session",
                 object_id=course_session.id, county_id=course_session.offering.county_id,
                 before={str(k): v for k, v in sorted(before.items())},
                 after={str(k): v for k, v in sorted(after.items())})


def _offering_change(action: str):
    def receiver(_app, *, session, offering, before, after, actor, **_data) -> None:
        audit.record(session, actor=actor, action=action, object_type="course_offering",
                     object_id=offering.id, county_id=offering.county_id, before=before,
                     after=after)
    receiver.__name__ = f"on_{action.replace('.', '_')}"
    return receiver


def _session_change(action: str):
    def receiver(_app, *, session, offering, course_session_id, before, after, actor,
                 **_data) -> None:
        audit.record(session, actor=actor, action=action, object_type="course_session",
                     object_id=course_session_id, county_id=offering.county_id,
                     before=before, after=after)
    receiver.__name__ = f"on_{action.replace('.', '_')}"
    return receiver


def on_message_sent(_app, *, session, message, actor, **_data) -> None:
    """A message to an offering's participants: to whom and how many, not what it says (the
    message row keeps the text; the log keeps no more of it than it needs)."""
    audit.record(session, actor=actor, action="offering.message", object_type="course_offering",
                 object_id=message.offering_id, county_id=message.offering.county_id,
                 after={"message": message.id, "audience": message.audience.value,
                        "recipients": message.recipient_count})


def on_objectives_updated(_app, *, session, kind, before, after, actor, **_data) -> None:
    """An administrator changed a kind's learning objectives."""
    audit.record(session, actor=actor, action="kind.update_objectives",
                 object_type="course_kind", object_id=kind.id, county_id=None, before=before,
                 after=after)


def _roster_import(action: str):
    def receiver(_app, *, session, roster_import, actor, **_data) -> None:
        audit.record(session, actor=actor, action=action, object_type="roster_import",
                     object_id=roster_import.id, county_id=roster_import.county_id,
                     after={"roster_id": roster_import.roster_id, "role": roster_import.role,
                            "cohort": roster_import.cohort, "file": roster_import.filename,
                            "sha256": roster_import.sha256, "lines": len(roster_import.rows),
                            "summary": roster_import.summary})
    receiver.__name__ = f"on_{action.replace('.', '_')}"
    return receiver


def on_roster_match_chosen(_app, *, session, roster, match, before, actor, **_data) -> None:
    """Staff decided which roster entry an ambiguous enrollment belongs to."""
    audit.record(session, actor=actor, action="roster.match", object_type="roster",
                 object_id=roster.id, county_id=roster.county_id, before=before,
                 after={"enrollment_id": match.enrollment_id, "entry_id": match.entry_id})


# The audit action of each event, where the receiver is one of the families above.
def on_roster_invited(_app, *, session, roster, offering, plan, actor, **_data) -> None:
    """Staff invited roster people to an offering: who, to which, how many, who was skipped."""
    audit.record(session, actor=actor, action="roster.invite", object_type="course_offering",
                 object_id=offering.id, county_id=offering.county_id,
                 after={"roster_id": roster.id, "invited": [e.id for e in plan.invite],
                        "skipped": {"enrolled": len(plan.enrolled),
                                    "no_email": len(plan.no_email),
                                    "invited_before": len(plan.invited_before)}})


SUBSCRIBERS = [
    (events.enrolled, on_enrolled),
    (events.approved, on_approved),
    (events.rejected, on_rejected),
    (events.cancelled, on_cancelled),
    (events.moved, on_moved),
    (events.offered, on_offered),
    (events.offer_accepted, on_offer_accepted),
    (events.offer_expired, on_offer_expired),
    (events.links_withdrawn, on_links_withdrawn),
    (events.email_changed, _address_change("enrollment.email_changed")),
    (events.email_change_stopped, _address_change("enrollment.email_change_stopped")),
    (events.attendance_recorded, on_attendance_recorded),
    (events.offering_created, _offering_change("offering.create")),
    (events.offering_updated, _offering_change("offering.update")),
    (events.capacity_changed, _offering_change("offering.set_capacity")),
    (events.offering_published, _offering_change("offering.publish")),
    (events.offering_unpublished, _offering_change("offering.unpublish")),
    (events.offering_cancelled, _offering_change("offering.cancel")),
    (events.session_added, _session_change("session.add")),
    (events.session_moved, _session_change("session.move")),
    (events.session_removed, _session_change("session.remove")),
    (events.objectives_updated, on_objectives_updated),
    (events.message_sent, on_message_sent),
    (events.roster_file_staged, _roster_import("roster.upload")),
    (events.roster_imported, _roster_import("roster.import")),
    (events.roster_import_discarded, _roster_import("roster.discard")),
    (events.roster_match_chosen, on_roster_match_chosen),
    (events.roster_invited, on_roster_invited),
]


def init_app(app: Flask) -> None:
    """Subscribe the audit log to the plugin's events in ``app``."""
    for signal, receiver in SUBSCRIBERS:
        subscribe(app, signal, receiver)
