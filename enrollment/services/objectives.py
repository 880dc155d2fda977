"""Administrators' operation on the learning objectives of a course kind: edit, add, remove,
in one audit event. Takes a session, flushes and never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from core.events import publish
from enrollment import events
from enrollment.errors import DuplicateObjectiveCode, UnknownObjective
from enrollment.models import CourseKind, LearningObjective


@dataclass(frozen=True)
class ObjectiveValues:
    """One learning objective as staff want it; ``id`` None for a new one."""

    id: int | None
    code: str
    text_nn: str
    text_nb: str
    text_en: str
    official_number: str | None = None
    source_url: str = ""
    version_date: date | None = None
    confirmed: bool = False
    translated: str = ""


def _objective_rows(kind: CourseKind) -> list[dict]:
    return [
        {"id": o.id, "code": o.code, "text_nn": o.text_nn, "text_nb": o.text_nb,
         "text_en": o.text_en, "official_number": o.official_number,
         "source_url": o.source_url,
         "version_date": o.version_date.isoformat() if o.version_date else None,
         "confirmed": o.confirmed, "translated": o.translated}
        for o in sorted(kind.objectives, key=lambda o: o.position)
    ]


def _set_objective(objective: LearningObjective, item: ObjectiveValues) -> None:
    objective.code = item.code
    objective.text_nn, objective.text_nb, objective.text_en = (
        item.text_nn, item.text_nb, item.text_en)
    objective.official_number = item.official_number
    objective.source_url, objective.version_date = item.source_url, item.version_date
    # Only an objective with its official number can be confirmed (and so printed).
    objective.confirmed = item.confirmed and bool(item.official_number)
    objective.translated = item.translated


def update_objectives(
    session: Session, kind: CourseKind, changed: Sequence[ObjectiveValues],
    removed: Collection[int], actor,
) -> bool:
    """Change the kind's learning objectives: entries of ``changed`` with an id update that
    objective, those without one are added at the end, ids in ``removed`` are deleted; others
    are left as they are (another administrator may have added one meanwhile). Returns whether
    anything changed.

    Certificates keep a snapshot of the objectives, so issued ones do not change with this.
    """
    existing = {o.id: o for o in kind.objectives}
    named = [item.id for item in changed if item.id is not None] + list(removed)
    if any(i not in existing for i in named):
        raise UnknownObjective()
    updates = {item.id: item for item in changed if item.id is not None}
    added = [item for item in changed if item.id is None]
    kept = [o for o in sorted(kind.objectives, key=lambda o: o.position) if o.id not in removed]
    codes = [updates[o.id].code if o.id in updates else o.code for o in kept]
    codes += [item.code for item in added]
    for code in codes:
        if codes.count(code) > 1:
            raise DuplicateObjectiveCode(code)
    before = _objective_rows(kind)
    for objective in [o for o in kind.objectives if o.id in removed]:
        kind.objectives.remove(objective)
    # Codes are unique per kind at every flush; a swap of two codes passes through a free one.
    for objective in kept:
        if objective.id in updates and updates[objective.id].code != objective.code:
            objective.code = f"~{objective.id}"
    session.flush()
    for position, objective in enumerate(kept):
        item = updates.get(objective.id)
        if item is not None:
            _set_objective(objective, item)
        objective.position = position
    for position, item in enumerate(added, start=len(kept)):
        objective = LearningObjective(position=position)
        _set_objective(objective, item)
        kind.objectives.append(objective)
    session.flush()
    after = _objective_rows(kind)
    if before == after:
        return False
    publish(events.objectives_updated, session, kind=kind, before={"objectives": before},
            after={"objectives": after}, actor=actor)
    return True
