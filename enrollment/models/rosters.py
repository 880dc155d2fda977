"""Tables of cohort rosters: the office's list of the people starting in a cohort, the files it
was imported from, and the matches staff chose by hand between its entries and enrollments."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth import StaffUser
from core.db import Base, UTCDateTime, enum_column, utcnow
from core.models import County, Municipality
from enrollment.models.courses import Role
from enrollment.models.enrollments import Enrollment


class Roster(Base):
    """The people of one role starting in one cohort in one county office."""

    __tablename__ = "rosters"
    __table_args__ = (sa.UniqueConstraint("county_id", "role", "cohort"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    # The cohort's first day, in the scheme of the role's mandatory courses (enrollment.cohorts).
    cohort: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    county: Mapped[County] = relationship()
    entries: Mapped[list[RosterEntry]] = relationship(
        back_populates="roster", cascade="all, delete-orphan", order_by="RosterEntry.full_name")


class RosterEntry(Base):
    """One person on a roster, as the office's file gave them. A re-import finds the entry by
    HPR number, else by e-mail address, and updates it."""

    __tablename__ = "roster_entries"
    __table_args__ = (sa.Index("ix_roster_entries_roster_hpr", "roster_id", "hpr_number"),
                      sa.Index("ix_roster_entries_roster_email", "roster_id", "email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(sa.ForeignKey("rosters.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(sa.String(200))
    # Stored lower-cased, as matching compares it.
    email: Mapped[str] = mapped_column(sa.String(254))
    hpr_number: Mapped[str | None] = mapped_column(sa.String(9))
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipalities.id"), index=True)
    start_date: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    roster: Mapped[Roster] = relationship(back_populates="entries")
    municipality: Mapped[Municipality] = relationship()


class ImportStatus(enum.StrEnum):
    """Where an uploaded roster file stands: shown for review, applied, or thrown away."""

    STAGED = "staged"
    APPLIED = "applied"
    DISCARDED = "discarded"

    @property
    def title(self):
        """The status in the active language."""
        return _IMPORT_TITLES[self]


_IMPORT_TITLES = {
    ImportStatus.STAGED: _l("Awaiting confirmation"),
    ImportStatus.APPLIED: _l("Imported"),
    ImportStatus.DISCARDED: _l("Discarded"),
}


class RosterImport(Base):
    """One uploaded roster file: its rows as parsed and checked (``rows``, JSON) are kept here
    between the preview and the confirmation, so no roster entry changes before staff confirm;
    once applied, the row stays as the record of the import (who, when, what it changed)."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    cohort: Mapped[date] = mapped_column(sa.Date)
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # [{"line", "full_name", "email", "hpr_number", "role", "municipality_id",
    #   "municipality", "start_date", "errors": [codes]}]
    rows: Mapped[list] = mapped_column(sa.JSON)
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus),
                                                 default=ImportStatus.STAGED)
    # What applying it did: {"added": n, "updated": n, "unchanged": n, "skipped": n}.
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    roster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rosters.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    county: Mapped[County] = relationship()
    created_by: Mapped[StaffUser | None] = relationship()


class RosterMatch(Base):
    """Staff's choice for an enrollment the automatic match found ambiguous: the roster entry
    it belongs to, or none (``entry_id`` empty). It overrides the automatic match."""

    __tablename__ = "roster_matches"
    __table_args__ = (sa.UniqueConstraint("roster_id", "enrollment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(sa.ForeignKey("rosters.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_entries.id", ondelete="CASCADE"), index=True)
    chosen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship()
