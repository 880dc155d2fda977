"""Inviting roster people to an offering, and the deadline reminder to those still not
enrolled (issue 16, item 3).

An invitation goes to each chosen roster entry that has an address, whose role the offering
admits and who has no active enrollment in the offering's course kind; once per person and
offering. "Once" is a claim in ``core.reminders``' table ``sent_reminders`` (kind
``INVITATION``, the entry, the offering), the same unique key the periodic command uses, so two
staff confirming at the same moment cannot both send it.

The deadline reminder (``DEADLINE_REMINDER``, sent by ``flask reminders send``): from
``DEADLINE_REMINDER_DAYS`` before an open offering's enrollment deadline until it closes, the
people on its office's roster of its cohort, whose role it admits and who are not enrolled in
its course kind, each once per offering.

A person is "enrolled in the kind" when an active enrollment in an offering of that kind (of
any office: enrolled elsewhere is enrolled) has the entry's HPR number or, lower-cased, its
e-mail address: the same evidence the completion table uses, without its hand-made matches,
so an ambiguous person is rather left out than reminded of a course they took.

Both mails go in the county's default language: a roster entry has no language of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from core.events import publish
from core.reminders import Due, claim, sent_keys
from enrollment import events
from enrollment.errors import NotInvitable
from enrollment.models import (
    ACTIVE_STATUSES,
    CourseOffering,
    Enrollment,
    KindRole,
    Participant,
    Roster,
    RosterEntry,
)

INVITATION = "enrollment.invitation"
DEADLINE_REMINDER = "enrollment.deadline_reminder"
DEADLINE_REMINDER_DAYS = 14


def event_key(offering_id: int) -> str:
    """The event of both mails: the offering (sent once per person and offering)."""
    return f"offering:{offering_id}"


@dataclass
class InvitationPlan:
    """Who of the chosen people an invitation goes to, and who is skipped and why. (Nobody
    is skipped for their role: a roster is of one role, and only offerings admitting it can
    be chosen.)"""

    offering: CourseOffering
    invite: list[RosterEntry] = field(default_factory=list)
    enrolled: list[RosterEntry] = field(default_factory=list)
    no_email: list[RosterEntry] = field(default_factory=list)
    invited_before: list[RosterEntry] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """How many of the chosen people get no invitation."""
        return len(self.enrolled) + len(self.no_email) + len(self.invited_before)


def _invitable(roster: Roster, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(CourseOffering.county_id == roster.county_id,
                   CourseOffering.open_for_enrollment(now),
                   CourseOffering.kind_id.in_(sa.select(KindRole.kind_id)
                                              .where(KindRole.role == roster.role)))


def invitable_offerings(session: Session, roster: Roster, now: datetime) -> list[CourseOffering]:
    """The office's offerings open for enrollment that admit the roster's role, by deadline."""
    return list(session.scalars(
        sa.select(CourseOffering).where(_invitable(roster, now))
        .options(joinedload(CourseOffering.kind), selectinload(CourseOffering.sessions))
        .order_by(CourseOffering.enroll_closes_at, CourseOffering.id)))


def enrolled_in_kind(session: Session, entries: list[RosterEntry],
                     kind_ids: set[int]) -> set[tuple[int, int]]:
    """The (entry id, kind id) pairs where the entry's person has an active enrollment in an
    offering of the kind, by HPR number or e-mail address; one query."""
    emails = {e.email.lower() for e in entries if e.email}
    hprs = {e.hpr_number for e in entries if e.hpr_number}
    if not entries or not kind_ids or not (emails or hprs):
        return set()
    rows = session.execute(
        sa.select(sa.func.lower(Participant.email), Participant.hpr_number,
                  CourseOffering.kind_id)
        .select_from(Enrollment).join(Enrollment.participant).join(Enrollment.offering)
        .where(Enrollment.status.in_(ACTIVE_STATUSES), CourseOffering.kind_id.in_(kind_ids),
               sa.or_(sa.func.lower(Participant.email).in_(sorted(emails)),
                      Participant.hpr_number.in_(sorted(hprs)))))
    by_email: dict[str, set[int]] = {}
    by_hpr: dict[str, set[int]] = {}
    for email, hpr, kind_id in rows:
        by_email.setdefault(email, set()).add(kind_id)
        if hpr:
            by_hpr.setdefault(hpr, set()).add(kind_id)
    return {(e.id, kind_id) for e in entries
            for kind_id in by_email.get(e.email.lower(), set()) | by_hpr.get(e.hpr_number, set())}


def plan(session: Session, roster: Roster, entry_ids: list[int], offering_id: int,
         now: datetime) -> InvitationPlan:
    """What inviting the roster's entries ``entry_ids`` to the offering would do (reads only).
    Raises ``NotInvitable`` for an offering of another office, not open, or not for the role;
    ids of other rosters' entries are ignored."""
    offering = session.scalar(
        sa.select(CourseOffering).where(CourseOffering.id == offering_id, _invitable(roster, now))
        .options(joinedload(CourseOffering.kind), joinedload(CourseOffering.county),
                 selectinload(CourseOffering.sessions)))
    if offering is None:
        raise NotInvitable()
    entries = list(session.scalars(
        sa.select(RosterEntry)
        .where(RosterEntry.roster_id == roster.id, RosterEntry.id.in_(set(entry_ids)))
        .order_by(RosterEntry.full_name, RosterEntry.id)))
    result = InvitationPlan(offering)
    enrolled = enrolled_in_kind(session, entries, {offering.kind_id})
    sent = sent_keys(session, INVITATION, [e.id for e in entries])
    for entry in entries:
        if not entry.email:
            result.no_email.append(entry)
        elif (entry.id, offering.kind_id) in enrolled:
            result.enrolled.append(entry)
        elif (entry.id, event_key(offering.id)) in sent:
            result.invited_before.append(entry)
        else:
            result.invite.append(entry)
    return result


def invite(session: Session, roster: Roster, entry_ids: list[int], offering_id: int, *,
           actor, now: datetime) -> InvitationPlan:
    """Invite each entry ``plan`` invites, claiming each (entry, offering) once: one claimed
    meanwhile by someone else moves to ``invited_before``. Publishes ``roster_invited``: the
    mail (``enrollment.mail.invitations``) and the audit follow it."""
    result = plan(session, roster, entry_ids, offering_id, now)
    invited = []
    for entry in result.invite:
        if claim(session, INVITATION, entry.id, event_key(offering_id), now):
            invited.append(entry)
        else:
            result.invited_before.append(entry)
    result.invite = invited
    session.flush()
    publish(events.roster_invited, session, roster=roster, offering=result.offering,
            plan=result, actor=actor)
    return result


# --- the deadline reminder ------------------------------------------------------------------


def _deadline_window(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(CourseOffering.open_for_enrollment(now),
                   CourseOffering.enroll_closes_at <= now + timedelta(days=DEADLINE_REMINDER_DAYS))


def due_deadline_reminders(session: Session, now: datetime) -> list[Due]:
    """The roster people due a deadline reminder at ``now`` and not yet sent one for the
    offering, in three queries whatever their number."""
    rows = session.execute(
        sa.select(RosterEntry, CourseOffering.id, CourseOffering.kind_id)
        .join(Roster, Roster.id == RosterEntry.roster_id)
        .join(CourseOffering, sa.and_(CourseOffering.county_id == Roster.county_id,
                                      CourseOffering.cohort == Roster.cohort))
        .join(KindRole, sa.and_(KindRole.kind_id == CourseOffering.kind_id,
                                KindRole.role == Roster.role))
        .where(_deadline_window(now), RosterEntry.email != "")
        .order_by(CourseOffering.id, RosterEntry.id)).all()
    if not rows:
        return []
    entries = list({entry.id: entry for entry, _o, _k in rows}.values())
    enrolled = enrolled_in_kind(session, entries, {kind_id for _e, _o, kind_id in rows})
    sent = sent_keys(session, DEADLINE_REMINDER, [e.id for e in entries])
    return [Due(entry.id, event_key(offering_id)) for entry, offering_id, kind_id in rows
            if (entry.id, kind_id) not in enrolled
            and (entry.id, event_key(offering_id)) not in sent]


def still_due(session: Session, entry_id: int, key: str,
              now: datetime) -> tuple[RosterEntry, CourseOffering] | None:
    """The entry and offering of a deadline reminder if it is still due at ``now`` (in the
    sending transaction: the person may have enrolled since the list was made)."""
    offering_id = int(key.removeprefix("offering:"))
    row = session.execute(
        sa.select(RosterEntry, CourseOffering)
        .join(Roster, Roster.id == RosterEntry.roster_id)
        .join(CourseOffering, sa.and_(CourseOffering.county_id == Roster.county_id,
                                      CourseOffering.cohort == Roster.cohort))
        .join(KindRole, sa.and_(KindRole.kind_id == CourseOffering.kind_id,
                                KindRole.role == Roster.role))
        .where(RosterEntry.id == entry_id, CourseOffering.id == offering_id,
               _deadline_window(now), RosterEntry.email != "")
        .options(joinedload(RosterEntry.roster).joinedload(Roster.county))).first()
    if row is None:
        return None
    entry, offering = row
    if enrolled_in_kind(session, [entry], {offering.kind_id}):
        return None
    return entry, offering
