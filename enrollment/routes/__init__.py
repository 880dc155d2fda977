"""The enrollment blueprint and every routes table it serves, one module per subject.

Public: ``catalog`` (catalog, course page, .ics), ``api_catalog`` (the same as JSON:
``/api/v1/offerings``, ``/api/v1/course-kinds``), ``enroll``, ``manage`` (a participant's
manage link: the page, contact details, cancel, other links, e-mail change, lost links),
``privacy``.
Staff: ``staff_dashboard``, ``staff_offerings``, ``staff_sessions``, ``staff_kinds``,
``staff_participants``, ``staff_messages`` (writing to an offering's participants),
``staff_attendance``, ``staff_erasure``, ``staff_rosters``, ``staff_invitations``.
Administrators: ``admin_overview``.
The staff JSON API (personal access tokens): ``api_staff`` (participants, attendance),
``api_staff_rosters``.
"""

from flask import Blueprint

from core.routes import attach
from enrollment.routes import (
    admin_overview,
    api_catalog,
    api_staff,
    api_staff_rosters,
    catalog,
    enroll,
    manage,
    privacy,
    staff_attendance,
    staff_dashboard,
    staff_erasure,
    staff_invitations,
    staff_kinds,
    staff_messages,
    staff_offerings,
    staff_participants,
    staff_rosters,
    staff_sessions,
)

# Named after the package, so the blueprint's templates/ is enrollment/templates.
bp = Blueprint("enrollment", "enrollment", template_folder="templates")
attach(
    bp,
    catalog.routes,
    api_catalog.routes,
    enroll.routes,
    manage.routes,
    privacy.routes,
    staff_dashboard.routes,
    staff_offerings.routes,
    staff_sessions.routes,
    staff_kinds.routes,
    staff_participants.routes,
    staff_messages.routes,
    staff_attendance.routes,
    staff_erasure.routes,
    staff_rosters.routes,
    staff_invitations.routes,
    admin_overview.routes,
    api_staff.routes,
    api_staff_rosters.routes,
)
