"""The enrollment plugin's tables, by subject: ``courses`` (roles, course kinds, learning
objectives, offerings, sessions), ``enrollments`` (participants, enrollments, manage links,
attendance, erasure requests, e-mail changes), ``messages`` (staff's messages to an offering's
participants) and ``rosters`` (cohort rosters, their imports and hand-made matches).
Everything is importable from here.
"""

from enrollment.models.courses import (
    CohortScheme,
    CourseKind,
    CourseOffering,
    CourseSession,
    EnrollmentWindow,
    KindRole,
    LearningObjective,
    OfferingFacts,
    OfferingStatus,
    Role,
)
from enrollment.models.enrollments import (
    ACTIVE_STATUSES,
    SEATED_STATUSES,
    Attendance,
    EmailChange,
    Enrollment,
    EnrollmentStatus,
    ErasureRequest,
    ErasureStatus,
    ManageLink,
    Participant,
    PrivacyLink,
    PrivacyPurpose,
    about,
)
from enrollment.models.messages import MessageAudience, MessageDelivery, OfferingMessage
from enrollment.models.rosters import (
    ImportStatus,
    Roster,
    RosterEntry,
    RosterImport,
    RosterMatch,
)

__all__ = [
    "ACTIVE_STATUSES", "Attendance", "CohortScheme", "CourseKind",
    "CourseOffering", "CourseSession", "EmailChange", "Enrollment", "EnrollmentStatus",
    "EnrollmentWindow", "ErasureRequest", "ErasureStatus", "KindRole", "LearningObjective",
    "ImportStatus", "ManageLink", "MessageAudience", "MessageDelivery", "OfferingFacts",
    "OfferingMessage", "OfferingStatus", "Participant", "PrivacyLink", "PrivacyPurpose", "Role",
    "Roster", "RosterEntry", "RosterImport", "RosterMatch", "SEATED_STATUSES",
    "about",
]
