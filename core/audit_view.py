"""The audit log as a person reads it: actions and fields in words (``core.audit``'s registry,
filled by each plugin), times in Oslo, and people named (staff by their name, participants
through the plugin that knows them), in a fixed number of queries for a whole page: one for
the staff, one per type of object named, whatever the number of rows.

A person whose details were removed (the purge, an erasure) is shown as such: never by an old
name kept in the event's before and after.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.audit import AuditEvent, FieldWords, Subject, Words, words
from core.auth import StaffUser
from core.i18n import format_moment, format_money, format_number, format_short_day
from core.models import County

# What ``core.audit._plain`` makes of a datetime and of a date.
_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?")
_DAY = re.compile(r"\d{4}-\d\d-\d\d")
# Who ``core.audit.record`` writes when the actor is no staff member.
PARTICIPANT_ACTOR, SYSTEM_ACTOR = "participant", "system"


@dataclass(frozen=True)
class Change:
    """One field of an audit event, before and after, as text a person reads (None where a
    side is absent)."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class AuditRow:
    """One event as the page shows it."""

    event: AuditEvent
    actor: str
    actor_address: str  # the staff member's e-mail beside their name; "" when it says nothing
    action: str
    object_type: str
    object_label: str | None
    changes: list[Change]


def readable_code(code: str) -> str:
    """A code nobody gave words to, still readable: ``offering.set_capacity`` → "Offering: set
    capacity"."""
    text = code.replace("_", " ").replace(".", ": ", 1)
    return text[:1].upper() + text[1:]


def action_title(name: str, registered: Words | None = None) -> str:
    """The action in the active language."""
    found = (registered or words()).actions.get(name)
    return str(found.title) if found else readable_code(name)


def object_type_title(object_type: str, registered: Words | None = None) -> str:
    """The object type in the active language."""
    found = (registered or words()).subjects.get(object_type)
    return str(found.title) if found else readable_code(object_type)


def _field(registered: Words, object_type: str, name: str) -> FieldWords | None:
    return registered.fields.get((object_type, name)) or registered.fields.get((None, name))


def _ids(value: Any) -> list[int]:
    """The ids a referring value holds: one, or a list of them."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _wanted(registered: Words, events: list[AuditEvent]) -> dict[str, set[int]]:
    """The objects to name, by type: each event's own and those its before and after refer to."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_id is not None:
            wanted[event.object_type].add(event.object_id)
        action = registered.actions.get(event.action)
        for side in (event.before, event.after):
            for key, value in (side or {}).items() if isinstance(side, dict) else ():
                if action is not None and action.keyed_by:
                    if str(key).isdecimal():
                        wanted[action.keyed_by].add(int(key))
                elif (found := _field(registered, event.object_type, key)) and found.refers_to:
                    wanted[found.refers_to].update(_ids(value))
    return wanted


def _name_subjects(session: Session, registered: Words,
                   wanted: Mapping[str, Collection[int]]) -> dict[str, Mapping[int, Subject]]:
    """Each type's objects named by its namer: one query per type that has one."""
    named = {}
    for object_type, ids in wanted.items():
        subject = registered.subjects.get(object_type)
        if ids and subject is not None and subject.names is not None:
            named[object_type] = subject.names(session, ids)
    return named


def describe(session: Session, events: list[AuditEvent]) -> list[AuditRow]:
    """The page's events in words; a fixed number of queries whatever their number."""
    registered = words()
    staff_ids = {e.actor_id for e in events if e.actor_id is not None}
    staff = dict(session.execute(sa.select(StaffUser.id, StaffUser.name)
                                 .where(StaffUser.id.in_(staff_ids))).all()) if staff_ids else {}
    named = _name_subjects(session, registered, _wanted(registered, events))
    return [_row(registered, named, staff, event) for event in events]


def _actor(staff: Mapping[int, str], event: AuditEvent) -> tuple[str, str]:
    if event.actor_id in staff:
        return staff[event.actor_id], event.actor_email
    if event.actor_email == PARTICIPANT_ACTOR:
        return _("The participant"), ""
    if event.actor_email == SYSTEM_ACTOR:
        return _("Kursportal (automatic)"), ""
    return event.actor_email, ""


def number(value: int) -> str:
    """An object by its number, where it has no name (any more)."""
    return _("no. %(number)s", number=value)


def _label(named: Mapping[str, Mapping[int, Subject]], object_type: str, value: int) -> str:
    found = named.get(object_type, {}).get(value)
    return found.label if found else number(value)


def _row(registered: Words, named: Mapping[str, Mapping[int, Subject]],
         staff: Mapping[int, str], event: AuditEvent) -> AuditRow:
    actor, address = _actor(staff, event)
    subject = (named.get(event.object_type, {}).get(event.object_id)
               if event.object_id is not None else None)
    return AuditRow(
        event=event, actor=actor, actor_address=address,
        action=action_title(event.action, registered),
        object_type=object_type_title(event.object_type, registered),
        object_label=subject.label if subject else None,
        changes=_changes(registered, named, event, subject is not None and subject.anonymised),
    )


def _changes(registered: Words, named: Mapping[str, Mapping[int, Subject]],
             event: AuditEvent, anonymised: bool) -> list[Change]:
    before, after = event.before or {}, event.after or {}
    action = registered.actions.get(event.action)
    changes = []
    for key in dict.fromkeys([*before, *after]):
        if action is not None and action.keyed_by:
            title = (_label(named, action.keyed_by, int(key)) if str(key).isdecimal()
                     else readable_code(str(key)))
            words_ = FieldWords(title, values=action.values)
        else:
            words_ = _field(registered, event.object_type, key) or FieldWords(readable_code(key))

        def show(side: dict, present: bool, words_=words_, key=key) -> str | None:
            if not present:
                return None
            if words_.personal and anonymised:
                return _("(removed with the person's details)")
            return readable_value(side.get(key), words_, named)

        changes.append(Change(str(words_.title), show(before, event.before is not None),
                              show(after, event.after is not None)))
    return changes


def readable_value(value: Any, field_words: FieldWords | None = None,
                   named: Mapping[str, Mapping[int, Subject]] | None = None) -> str:
    """A stored value as words: yes/no, titles of codes, names for ids, Oslo times, kroner."""
    field_words = field_words or FieldWords("")
    if field_words.values is not None and _hashable(value) and value in field_words.values:
        return str(field_words.values[value])
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field_words.refers_to and _ids(value):
        return ", ".join(_label(named or {}, field_words.refers_to, v) for v in _ids(value))
    if isinstance(value, int | float):
        return format_money(int(value)) if field_words.money else format_number(value)
    if isinstance(value, str):
        return _readable_text(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(readable_value(v, FieldWords("", values=field_words.values))
                         for v in value) or "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _hashable(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _readable_text(value: str) -> str:
    if _MOMENT.fullmatch(value):
        moment = datetime.fromisoformat(value)
        return format_moment(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if _DAY.fullmatch(value):
        return format_short_day(date.fromisoformat(value))
    return value


def county_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Counties by their name in the active language."""
    return {c.id: Subject(c.name()) for c in session.scalars(
        sa.select(County).where(County.id.in_(ids)))}


def staff_names(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    """Staff accounts by the member's name."""
    return {row.id: Subject(row.name) for row in session.execute(
        sa.select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids)))}
