"""Completion per person: for every entry of a cohort roster, where each course kind that is
mandatory for the roster's role stands (``KindRole.mandatory``, from course_kinds.json).

An enrollment belongs to an entry when its participant's HPR number matches the entry's, else
when the e-mail address matches. It is *ambiguous* when the HPR number points at one entry and
the address at another, when two entries share what matched, or when the address matches an
entry whose HPR number differs from the participant's; staff then choose by hand
(``choose_match``, a ``RosterMatch`` that overrides the automatic match), and until they do it
counts for nobody.

Each item shows the furthest state of the person's enrollments in that kind: not enrolled,
waiting (the waiting list), enrolled (pending or confirmed), attended (confirmed, the course
over and present at it), certificate issued. Whether a certificate was issued is the
certificates plugin's to say (``enrollment.panels.completion_facts``); without that plugin
the state never shows. Only the office's own county's courses count, as staff of one county
see only its offerings. A whole roster is loaded in a fixed number of queries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from core.events import publish
from enrollment import events
from enrollment.errors import NotACandidate
from enrollment.models import (
    ACTIVE_STATUSES,
    Attendance,
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    KindRole,
    Participant,
    Roster,
    RosterEntry,
    RosterMatch,
)
from enrollment.panels import completion_facts
from enrollment.services.attendance import ATTENDED


class ItemState(enum.StrEnum):
    """Where one mandatory item of one person stands, from least to most done."""

    NOT_ENROLLED = "not_enrolled"
    WAITING = "waiting"
    ENROLLED = "enrolled"
    ATTENDED = "attended"
    CERTIFICATE = "certificate"

    @property
    def title(self):
        """The state in the active language."""
        return _STATE_TITLES[self]

    @property
    def rank(self) -> int:
        """How far along the state is: a later enrollment never hides an earlier success."""
        return list(ItemState).index(self)


_STATE_TITLES = {
    ItemState.NOT_ENROLLED: _l("Not enrolled"),
    ItemState.WAITING: _l("Waiting list"),
    ItemState.ENROLLED: _l("Enrolled"),
    ItemState.ATTENDED: _l("Attended"),
    ItemState.CERTIFICATE: _l("Certificate issued"),
}
# The filter "no certificate yet": every state but the last.
NO_CERTIFICATE = "no_certificate"


@dataclass
class Item:
    """One mandatory item of one person: its state and the enrollment that gave it."""

    state: ItemState = ItemState.NOT_ENROLLED
    enrollment: Enrollment | None = None
    certificate_url: str | None = None


@dataclass
class PersonCompletion:
    """One roster entry and its items, by course kind code."""

    entry: RosterEntry
    items: dict[str, Item] = field(default_factory=dict)


@dataclass
class Ambiguity:
    """An enrollment that could belong to more than one entry, or conflicts with the one its
    address matches; ``chosen`` is staff's decision, if made."""

    enrollment: Enrollment
    candidates: list[RosterEntry]
    chosen: RosterMatch | None = None


@dataclass
class RosterCompletion:
    """A roster's completion table."""

    roster: Roster
    kinds: list[CourseKind]
    people: list[PersonCompletion]
    ambiguities: list[Ambiguity]

    @property
    def undecided(self) -> int:
        """How many ambiguous enrollments wait for staff's decision."""
        return sum(1 for a in self.ambiguities if a.chosen is None)

    def filtered(self, kind: str = "", state: str = "",
                 municipality_id: int | None = None) -> list[PersonCompletion]:
        """The people matching the filters: an item's state (in ``kind``, or in any kind),
        ``no_certificate`` for an item without a certificate, and the municipality."""
        codes = [kind] if kind in {k.code for k in self.kinds} else [k.code for k in self.kinds]

        def fits(item: Item) -> bool:
            if state == NO_CERTIFICATE:
                return item.state != ItemState.CERTIFICATE
            return not state or item.state.value == state

        return [p for p in self.people
                if (municipality_id is None or p.entry.municipality_id == municipality_id)
                and (not state or any(fits(p.items[c]) for c in codes))]


def mandatory_kinds(session: Session, roster: Roster) -> list[CourseKind]:
    """The course kinds mandatory for the roster's role, in catalogue order."""
    return list(session.scalars(
        sa.select(CourseKind).join(KindRole)
        .where(KindRole.role == roster.role, KindRole.mandatory.is_(True))
        .order_by(CourseKind.position)))


def _candidates(session: Session, roster: Roster, kinds: list[CourseKind],
                entries: list[RosterEntry]) -> list[Enrollment]:
    hprs = sorted({e.hpr_number for e in entries if e.hpr_number})
    emails = sorted({e.email for e in entries})
    if not kinds or not entries:
        return []
    person = [sa.func.lower(Participant.email).in_(emails)]
    if hprs:
        person.append(Participant.hpr_number.in_(hprs))
    return list(session.scalars(
        sa.select(Enrollment).join(Enrollment.participant).join(Enrollment.offering)
        .where(CourseOffering.county_id == roster.county_id,
               CourseOffering.kind_id.in_([k.id for k in kinds]),
               Enrollment.status.in_(ACTIVE_STATUSES), sa.or_(*person))
        .options(joinedload(Enrollment.participant), joinedload(Enrollment.offering))
        .order_by(Enrollment.id)))


def _automatic(enrollment: Enrollment, by_hpr: dict, by_email: dict):
    """The entry ``enrollment`` belongs to, or the list of candidates when it is ambiguous."""
    person = enrollment.participant
    by_number = by_hpr.get(person.hpr_number, []) if person.hpr_number else []
    by_address = by_email.get(person.email.lower(), [])
    if len(by_number) == 1:
        entry = by_number[0]
        others = [e for e in by_address if e is not entry]
        return [entry, *others] if others else entry
    if by_number:
        return by_number
    if len(by_address) == 1:
        entry = by_address[0]
        conflict = entry.hpr_number and person.hpr_number and entry.hpr_number != person.hpr_number
        return [entry] if conflict else entry
    return by_address or None


def _attended(session: Session, enrollments: list[Enrollment], now: datetime) -> set[int]:
    """The confirmed enrollments whose course is over and who were present at it."""
    confirmed = [e for e in enrollments if e.status == EnrollmentStatus.CONFIRMED]
    if not confirmed:
        return set()
    offering_ids = {e.offering_id for e in confirmed}
    ended = set(session.scalars(
        sa.select(CourseSession.offering_id).where(CourseSession.offering_id.in_(offering_ids))
        .group_by(CourseSession.offering_id)
        .having(sa.func.max(CourseSession.ends_at) <= now)))
    present = set(session.scalars(
        sa.select(Attendance.enrollment_id).distinct()
        .where(Attendance.enrollment_id.in_([e.id for e in confirmed]), ATTENDED)))
    return {e.id for e in confirmed if e.offering_id in ended and e.id in present}


def _state(enrollment: Enrollment, attended: set[int]) -> ItemState:
    if enrollment.id in attended:
        return ItemState.ATTENDED
    if enrollment.status == EnrollmentStatus.WAITLISTED:
        return ItemState.WAITING
    return ItemState.ENROLLED


def roster_completion(session: Session, roster: Roster, now: datetime) -> RosterCompletion:
    """Every entry of ``roster`` with the state of each mandatory item, and the ambiguous
    enrollments, in a fixed number of queries whatever the roster's size."""
    entries = list(session.scalars(
        sa.select(RosterEntry).where(RosterEntry.roster_id == roster.id)
        .options(joinedload(RosterEntry.municipality))
        .order_by(RosterEntry.full_name, RosterEntry.id)))
    kinds = mandatory_kinds(session, roster)
    enrollments = _candidates(session, roster, kinds, entries)
    chosen = {m.enrollment_id: m for m in session.scalars(
        sa.select(RosterMatch).where(RosterMatch.roster_id == roster.id))}
    attended = _attended(session, enrollments, now)
    facts = completion_facts(session, [e.id for e in enrollments])
    by_id = {e.id: e for e in entries}
    by_hpr: dict[str, list[RosterEntry]] = {}
    by_email: dict[str, list[RosterEntry]] = {}
    for entry in entries:
        if entry.hpr_number:
            by_hpr.setdefault(entry.hpr_number, []).append(entry)
        by_email.setdefault(entry.email, []).append(entry)
    people = {e.id: PersonCompletion(e, {k.code: Item() for k in kinds}) for e in entries}
    codes = {k.id: k.code for k in kinds}
    ambiguities = []
    for enrollment in enrollments:
        found = _automatic(enrollment, by_hpr, by_email)
        match = chosen.get(enrollment.id)
        if isinstance(found, list):
            ambiguities.append(Ambiguity(enrollment, found, match))
        if match is not None:
            found = by_id.get(match.entry_id)
        if not isinstance(found, RosterEntry):
            continue
        state = _state(enrollment, attended)
        fact = facts.get(enrollment.id)
        if fact is not None:
            state = ItemState.CERTIFICATE
        item = people[found.id].items[codes[enrollment.offering.kind_id]]
        if state.rank > item.state.rank:
            item.state, item.enrollment = state, enrollment
            item.certificate_url = fact.certificate_url if fact else None
    return RosterCompletion(roster, kinds, list(people.values()), ambiguities)


def choose_match(session: Session, roster: Roster, enrollment_id: int, entry_id: int | None,
                 *, actor, now: datetime) -> RosterMatch:
    """Record staff's choice of the entry an ambiguous enrollment belongs to (None: none of
    them); a later choice replaces it. Raises ``NotACandidate`` for an entry or enrollment
    the roster's ambiguous matches do not offer."""
    table = roster_completion(session, roster, now)
    ambiguity = next((a for a in table.ambiguities if a.enrollment.id == enrollment_id), None)
    if ambiguity is None or (entry_id is not None
                             and entry_id not in {e.id for e in ambiguity.candidates}):
        raise NotACandidate()
    match = ambiguity.chosen
    before = {"entry_id": match.entry_id} if match is not None else None
    if match is None:
        match = RosterMatch(roster_id=roster.id, enrollment_id=enrollment_id)
        session.add(match)
    match.entry_id = entry_id
    match.chosen_by_id = getattr(actor, "id", None)
    match.chosen_at = now
    session.flush()
    publish(events.roster_match_chosen, session, roster=roster, match=match, before=before,
            actor=actor)
    return match


def automatic_match(enrollment, by_hpr: dict, by_email: dict):
    """The matching rule (``_automatic``) for callers that aggregate many rosters at once (the
    national overview): ``enrollment`` needs ``.participant.hpr_number`` and ``.email``."""
    return _automatic(enrollment, by_hpr, by_email)
