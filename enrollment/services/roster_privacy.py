"""A person's place on cohort rosters as personal data: in their export, and gone when they
are anonymised (a confirmed request for erasure, or the retention purge).

A roster entry names a person by HPR number and e-mail address, not by a key, so it is found
the way the completion table matches it: the participant's HPR number, else their address.
The lines of uploaded files about them are part of it too: exported, and blanked on
erasure (the rest of each file's record stays, for the audit of the import).
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from core.privacy import Anonymisation, Provider, register_provider, row_dict
from enrollment.models import Enrollment, Participant, RosterEntry, RosterImport, RosterMatch


def _keys(person: Participant) -> tuple[str | None, str | None]:
    return person.hpr_number or None, (person.email or "").lower() or None


def _about(line: dict, hpr: str | None, email: str | None) -> bool:
    return bool((hpr and line.get("hpr_number") == hpr)
                or (email and (line.get("email") or "").lower() == email))


def _entries(session: Session, hpr: str | None, email: str | None) -> list[RosterEntry]:
    found = [RosterEntry.email == email] if email else []
    if hpr:
        found.append(RosterEntry.hpr_number == hpr)
    if not found:
        return []
    return list(session.scalars(sa.select(RosterEntry).where(sa.or_(*found))
                                .order_by(RosterEntry.id)))


def _matches(session: Session, person_id: int) -> list[RosterMatch]:
    return list(session.scalars(
        sa.select(RosterMatch).join(Enrollment, RosterMatch.enrollment_id == Enrollment.id)
        .where(Enrollment.participant_id == person_id).order_by(RosterMatch.id)))


def _uploads(session: Session) -> list[RosterImport]:
    return list(session.scalars(sa.select(RosterImport).order_by(RosterImport.id)))


def export(session: Session, person_id: int) -> dict[str, list[dict]]:
    """The person's roster entries, the hand-made matches of their enrollments and their
    lines in uploaded roster files."""
    person = session.get(Participant, person_id)
    if person is None:
        return {}
    hpr, email = _keys(person)
    uploads = []
    for upload in _uploads(session) if (hpr or email) else []:
        lines = [line for line in upload.rows if _about(line, hpr, email)]
        if lines:
            uploads.append({"id": upload.id, "filename": upload.filename,
                            "created_at": upload.created_at.isoformat(), "lines": lines})
    return {
        "roster_entries": [row_dict(e) for e in _entries(session, hpr, email)],
        "roster_matches": [row_dict(m) for m in _matches(session, person_id)],
        "roster_imports": uploads,
    }


def anonymise(session: Session, person_id: int, plan: Anonymisation) -> Counter:
    """Delete the person's roster entries and matches, and blank their lines in uploads."""
    counts: Counter = Counter()
    person = session.get(Participant, person_id)
    if person is None:
        return counts
    hpr, email = _keys(person)
    for match in _matches(session, person_id):
        session.delete(match)
        counts["roster_matches deleted"] += 1
    for entry in _entries(session, hpr, email):
        session.execute(sa.delete(RosterMatch).where(RosterMatch.entry_id == entry.id))
        session.delete(entry)
        counts["roster_entries deleted"] += 1
    for upload in _uploads(session) if (hpr or email) else []:
        if any(_about(line, hpr, email) for line in upload.rows):
            upload.rows = [{"line": line["line"], "problems": line["problems"],
                            "full_name": "", "email": "", "hpr_number": None,
                            "municipality_id": None, "municipality": "", "start_date": ""}
                           if _about(line, hpr, email) else line for line in upload.rows]
            counts["roster_imports"] += 1
    session.flush()
    return counts


def register(app: Flask) -> None:
    """Register the rosters' personal data with the privacy registry."""
    register_provider(app, Provider(name="rosters", export=export, anonymise=anonymise))
