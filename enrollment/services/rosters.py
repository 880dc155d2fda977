"""Cohort rosters: the office's list of the people starting in a cohort, imported from a file.

An upload is read (``enrollment.roster_files``) and every line checked here: a name, a valid
e-mail address, an HPR number by the enrollment form's rule (``HPR_PATTERN``), the roster's role,
a municipality of the office's own county (by number or name, ``core.models.Municipality``), a
start date inside the cohort, and no line repeating an earlier one's HPR number or address. The
checked lines are kept on a ``RosterImport`` row, not on the roster: nothing of the roster
changes until staff confirm (``apply_import``); a discarded upload changes nothing at all.

Applying finds each line's entry by HPR number, else by e-mail address, and updates it, so
importing the same file twice changes nothing the second time; an entry the file does not
list is kept (an office may send its list in parts). Every upload, confirmation and discard
is an event that the audit log records.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload, selectinload

from core.events import publish
from core.models import Municipality
from enrollment import events, roster_files
from enrollment.errors import ImportNotStaged, NothingToImport
from enrollment.forms.public import HPR_PATTERN
from enrollment.models import (
    CohortScheme,
    CourseKind,
    ImportStatus,
    KindRole,
    Role,
    Roster,
    RosterEntry,
    RosterImport,
)
from enrollment.services.cohorts import next_cohort

# What is wrong with a line of the file, by code: shown beside the line in the preview.
ROW_PROBLEMS = {
    "name_missing": _l("The name is missing."),
    "email_invalid": _l("The e-mail address is not valid."),
    "hpr_invalid": _l("The HPR number is 7 to 9 digits, with no letters."),
    "role_wrong": _l("The role does not fit this roster."),
    "municipality_unknown": _l("No municipality has this number or name."),
    "municipality_other_county": _l("The municipality is in another county governor's area."),
    "start_date_invalid": _l("The start date is not a date (write 2026-03-01 or 01.03.2026)."),
    "start_date_outside_cohort": _l("The start date is outside this cohort."),
    "duplicate": _l("An earlier line has the same HPR number or e-mail address."),
}

# How a line of a file names a role, folded to lower case.
ROLE_WORDS = {
    Role.LIS1: {"lis1", "lis 1", "lis-1", "lege i spesialisering", "lege i spesialisering del 1",
                "lege i spesialisering, del 1", "lis1 doctor", "lis1-lege"},
    Role.PHYSIO_INTERN: {"physio_intern", "turnusfysioterapeut", "physiotherapy intern",
                         "fysioterapeut", "turnuskandidat fysioterapi"},
    Role.CHIRO_INTERN: {"chiro_intern", "turnuskiropraktor", "chiropractic intern"},
    Role.SUPERVISOR: {"supervisor", "veileder", "rettleiar"},
}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y")


@dataclass(frozen=True)
class PreviewLine:
    """One line of an uploaded file as the preview shows it."""

    line: int
    values: dict
    municipality: str
    problems: tuple[str, ...]
    # What confirming does with it: "new", "update", "unchanged" or "skip" (it has problems).
    action: str

    @property
    def messages(self) -> list[str]:
        """The problems in the active language."""
        return [str(ROW_PROBLEMS[code]) for code in self.problems]


def role_scheme(session: Session, role: Role) -> CohortScheme | None:
    """The cohort scheme of the kinds mandatory for ``role`` (their cohorts are the roster's)."""
    return session.scalar(
        sa.select(CourseKind.cohort_scheme).join(KindRole)
        .where(KindRole.role == role, KindRole.mandatory.is_(True)).limit(1))


def parse_role(text: str, default: Role) -> Role | None:
    """The role a line names, ``default`` when it names none, None when it is unknown."""
    folded = " ".join(text.casefold().split())
    if not folded:
        return default
    for role, words in ROLE_WORDS.items():
        if folded in words or folded == role.value:
            return role
    return None


def parse_date(text: str) -> date | None:
    """A date written as 2026-03-01, 01.03.2026, 01/03/2026 or 01.03.26; None otherwise."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _email(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _municipality(text: str, by_number: dict[str, Municipality],
                  by_name: dict[str, list[Municipality]]) -> Municipality | None:
    value = text.strip()
    number = value.split(" ", 1)[0]
    if re.fullmatch(r"[0-9]{3,4}", number):
        return by_number.get(number.zfill(4))
    found = by_name.get(" ".join(value.casefold().split()), [])
    return found[0] if len(found) == 1 else None


def check_lines(session: Session, records: list[dict], *, county_id: int, role: Role,
                cohort: date) -> list[dict]:
    """Each line of a file with its values cleaned and its problems (codes of
    ``ROW_PROBLEMS``), ready to be kept on the upload as JSON."""
    municipalities = list(session.scalars(sa.select(Municipality)
                                          .where(Municipality.retired.is_(False))))
    by_number = {m.number: m for m in municipalities}
    by_name: dict[str, list[Municipality]] = {}
    for m in municipalities:
        for name in m.names():
            by_name.setdefault(name, []).append(m)
    cohort_end = next_cohort(cohort)
    seen_hpr, seen_email, lines = set(), set(), []
    for record in records:
        problems = []
        name = " ".join(record.get("full_name", "").split())
        if not name:
            problems.append("name_missing")
        email = _email(record.get("email", ""))
        if email is None:
            problems.append("email_invalid")
        hpr = record.get("hpr_number", "").replace(" ", "") or None
        if hpr is not None and not HPR_PATTERN.match(hpr):
            problems.append("hpr_invalid")
        if parse_role(record.get("role", ""), role) != role:
            problems.append("role_wrong")
        municipality = _municipality(record.get("municipality", ""), by_number, by_name)
        if municipality is None:
            problems.append("municipality_unknown")
        elif municipality.county_id != county_id:
            problems.append("municipality_other_county")
        start = parse_date(record.get("start_date", ""))
        if start is None:
            problems.append("start_date_invalid")
        elif not cohort <= start < cohort_end:
            problems.append("start_date_outside_cohort")
        if (hpr and hpr in seen_hpr) or (email and email in seen_email):
            problems.append("duplicate")
        seen_hpr.add(hpr)
        seen_email.add(email)
        lines.append({
            "line": record["line"], "full_name": name[:200],
            "email": email or record.get("email", "")[:254], "hpr_number": hpr,
            "municipality_id": municipality.id if municipality else None,
            "municipality": municipality.label if municipality else record.get("municipality"),
            "start_date": start.isoformat() if start else record.get("start_date", ""),
            "problems": problems,
        })
    return lines


def stage_import(session: Session, *, county_id: int, role: Role, cohort: date, filename: str,
                 data: bytes, actor) -> RosterImport:
    """Read and check an uploaded file and keep its lines for the preview; the roster itself is
    not touched. Raises ``RosterFileRejected`` for a file that cannot be read."""
    records = roster_files.read(data, filename)
    upload = RosterImport(
        county_id=county_id, role=role, cohort=cohort, filename=filename[:200],
        sha256=hashlib.sha256(data).hexdigest(), created_by_id=getattr(actor, "id", None),
        rows=check_lines(session, records, county_id=county_id, role=role, cohort=cohort))
    session.add(upload)
    session.flush()
    publish(events.roster_file_staged, session, roster_import=upload, actor=actor)
    return upload


def find_roster(session: Session, county_id: int, role: Role, cohort: date) -> Roster | None:
    """The office's roster of ``role`` for ``cohort``, its entries loaded, if it has one."""
    return session.scalar(sa.select(Roster).where(
        Roster.county_id == county_id, Roster.role == role, Roster.cohort == cohort)
        .options(selectinload(Roster.entries)))


ENTRY_FIELDS = ("full_name", "email", "hpr_number", "municipality_id", "start_date")


def _values(line: dict) -> dict:
    return {"full_name": line["full_name"], "email": line["email"],
            "hpr_number": line["hpr_number"], "municipality_id": line["municipality_id"],
            "start_date": date.fromisoformat(line["start_date"])}


class _Entries:
    """A roster's entries by HPR number and by e-mail address, as applying finds them."""

    def __init__(self, entries: list[RosterEntry]):
        self.by_hpr = {e.hpr_number: e for e in entries if e.hpr_number}
        self.by_email = {e.email: e for e in entries}

    def find(self, values: dict) -> RosterEntry | None:
        if values["hpr_number"] and values["hpr_number"] in self.by_hpr:
            return self.by_hpr[values["hpr_number"]]
        return self.by_email.get(values["email"])

    def add(self, entry: RosterEntry) -> None:
        if entry.hpr_number:
            self.by_hpr[entry.hpr_number] = entry
        self.by_email[entry.email] = entry


def _action(entries: _Entries, line: dict) -> str:
    if line["problems"]:
        return "skip"
    values = _values(line)
    entry = entries.find(values)
    if entry is None:
        return "new"
    same = all(getattr(entry, k) == v for k, v in values.items())
    return "unchanged" if same else "update"


def preview(session: Session, upload: RosterImport) -> list[PreviewLine]:
    """The lines of an upload with their problems and what confirming would do with each."""
    roster = find_roster(session, upload.county_id, upload.role, upload.cohort)
    entries = _Entries(roster.entries if roster else [])
    result = []
    for line in upload.rows:
        action = _action(entries, line) if upload.status == ImportStatus.STAGED else ""
        result.append(PreviewLine(line=line["line"], values=line,
                                  municipality=line.get("municipality") or "",
                                  problems=tuple(line["problems"]), action=action))
    return result


def _decide(session: Session, upload_id: int, status: ImportStatus, now: datetime) -> None:
    """Move a staged upload to ``status`` in one conditional statement, so two confirmations
    (two tabs) cannot both apply it."""
    moved = session.execute(
        sa.update(RosterImport)
        .where(RosterImport.id == upload_id, RosterImport.status == ImportStatus.STAGED)
        .values(status=status, decided_at=now)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        raise ImportNotStaged()


def apply_import(session: Session, upload_id: int, *, actor, now: datetime) -> Roster:
    """Apply a staged upload's good lines to the roster (created on its first import): a line
    updates the entry with its HPR number, else its e-mail address, or adds one."""
    upload = session.get(RosterImport, upload_id)
    if upload is None or upload.status != ImportStatus.STAGED:
        raise ImportNotStaged()
    good = [line for line in upload.rows if not line["problems"]]
    if not good:
        raise NothingToImport()
    _decide(session, upload.id, ImportStatus.APPLIED, now)
    roster = find_roster(session, upload.county_id, upload.role, upload.cohort)
    if roster is None:
        roster = Roster(county_id=upload.county_id, role=upload.role, cohort=upload.cohort)
        roster.entries = []
        session.add(roster)
    entries = _Entries(roster.entries)
    counts = {"added": 0, "updated": 0, "unchanged": 0, "skipped": len(upload.rows) - len(good)}
    for line in good:
        values = _values(line)
        entry = entries.find(values)
        if entry is None:
            entry = RosterEntry(**values)
            roster.entries.append(entry)
            entries.add(entry)
            counts["added"] += 1
        elif any(getattr(entry, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(entry, k, v)
            entries.add(entry)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    session.flush()
    session.refresh(upload)
    upload.roster_id, upload.summary = roster.id, counts
    session.flush()
    publish(events.roster_imported, session, roster=roster, roster_import=upload, actor=actor)
    return roster


def discard_import(session: Session, upload_id: int, *, actor, now: datetime) -> None:
    """Throw a staged upload away; nothing of it reaches a roster."""
    _decide(session, upload_id, ImportStatus.DISCARDED, now)
    upload = session.get(RosterImport, upload_id)
    session.refresh(upload)
    publish(events.roster_import_discarded, session, roster_import=upload, actor=actor)


# --- what the staff pages list ------------------------------------------------------------------


def rosters_with_counts(session: Session, visible: sa.ColumnElement[bool]) -> list[sa.Row]:
    """(roster, number of people) of the rosters ``visible`` lets a staff member see (a WHERE
    clause on the county, ``core.auth.county_scope``), newest cohort first."""
    count = (sa.select(sa.func.count()).where(RosterEntry.roster_id == Roster.id)
             .correlate(Roster).scalar_subquery())
    return session.execute(
        sa.select(Roster, count).where(visible).options(joinedload(Roster.county))
        .order_by(Roster.cohort.desc(), Roster.role, Roster.county_id)).all()


def latest_uploads(session: Session, visible: sa.ColumnElement[bool],
                   limit: int = 20) -> list[RosterImport]:
    """The latest uploaded roster files ``visible`` lets a staff member see, newest first."""
    return list(session.scalars(
        sa.select(RosterImport).where(visible)
        .options(joinedload(RosterImport.county), joinedload(RosterImport.created_by))
        .order_by(RosterImport.created_at.desc(), RosterImport.id.desc()).limit(limit)))


def municipalities_of(session: Session, county_id: int) -> list[sa.Row]:
    """(id, number, name) of a county's municipalities, by number."""
    return session.execute(
        sa.select(Municipality.id, Municipality.number, Municipality.name)
        .where(Municipality.county_id == county_id).order_by(Municipality.number)).all()
