"""Who is due for the course reminder: confirmed participants of a published course, from the
offering's ``reminder_days`` before its first session until it starts (``core.reminders``
sends each once; ``enrollment.mail.reminders`` records and writes the mail).

The event key is the first session's start, so a reminder is sent once per person and course
date: running the command again sends nothing, and a course moved to a new date reminds its
participants of the new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.reminders import Due, sent_keys
from enrollment.models import (
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Participant,
)

COURSE_REMINDER = "enrollment.course_reminder"
MAX_REMINDER_DAYS = 60  # what the offering form accepts


def event_key(first_start: datetime) -> str:
    """The reminder's event: the course's first session, by its start."""
    return "first-session:" + first_start.isoformat(timespec="minutes")


def reminder_due(offering: CourseOffering, first_start: datetime, now: datetime) -> bool:
    """Whether the offering's participants are to be reminded at ``now``."""
    return (offering.status == OfferingStatus.PUBLISHED and offering.reminder_days > 0
            and first_start - timedelta(days=offering.reminder_days) <= now < first_start)


def due_course_reminders(session: Session, now: datetime) -> list[Due]:
    """The confirmed enrollments due a course reminder at ``now`` and not yet sent one for
    their course's current first day, in three queries whatever their number."""
    first_start = sa.func.min(CourseSession.starts_at)
    rows = session.execute(
        sa.select(CourseOffering.id, CourseOffering.reminder_days, first_start)
        .join(CourseSession, CourseSession.offering_id == CourseOffering.id)
        .where(CourseOffering.status == OfferingStatus.PUBLISHED,
               CourseOffering.reminder_days > 0)
        .group_by(CourseOffering.id, CourseOffering.reminder_days)
        .having(sa.and_(first_start > now,
                        first_start <= now + timedelta(days=MAX_REMINDER_DAYS)))).all()
    keys = {}
    for offering_id, days, start in rows:  # min() keeps the column's type: aware UTC
        if start - timedelta(days=days) <= now:
            keys[offering_id] = event_key(start)
    if not keys:
        return []
    candidates = session.execute(
        sa.select(Enrollment.id, Enrollment.offering_id)
        .join(Enrollment.participant)
        .where(Enrollment.offering_id.in_(keys), Enrollment.status == EnrollmentStatus.CONFIRMED,
               Participant.anonymised_at.is_(None))
        .order_by(Enrollment.id)).all()
    sent = sent_keys(session, COURSE_REMINDER, [row.id for row in candidates])
    return [Due(row.id, keys[row.offering_id]) for row in candidates
            if (row.id, keys[row.offering_id]) not in sent]
