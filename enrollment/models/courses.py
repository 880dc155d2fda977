"""Tables of the course side of enrollment: roles, course kinds and their learning objectives,
offerings and their sessions."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, enum_column, utcnow
from core.i18n import pick
from core.models import County


class Role(enum.StrEnum):
    """What a participant is; which course kinds each may enroll in is data (``KindRole``)."""

    LIS1 = "lis1"
    PHYSIO_INTERN = "physio_intern"
    CHIRO_INTERN = "chiro_intern"
    SUPERVISOR = "supervisor"

    @property
    def title(self):
        """The role's name in the active language."""
        return _ROLE_TITLES[self]

    @property
    def plural(self):
        """The role in the plural, lower case, for a sentence ("LIS1 doctors")."""
        return _ROLE_PLURALS[self]


_ROLE_TITLES = {
    Role.LIS1: _l("LIS1 doctor"),
    Role.PHYSIO_INTERN: _l("Physiotherapy intern"),
    Role.CHIRO_INTERN: _l("Chiropractic intern"),
    Role.SUPERVISOR: _l("Supervisor"),
}

_ROLE_PLURALS = {
    Role.LIS1: _l("LIS1 doctors"),
    Role.PHYSIO_INTERN: _l("physiotherapy interns"),
    Role.CHIRO_INTERN: _l("chiropractic interns"),
    Role.SUPERVISOR: _l("supervisors"),
}


class CohortScheme(enum.StrEnum):
    """How a course kind's offerings are grouped in cohorts; the rules are in
    ``enrollment.services.cohorts``, the scheme of each kind is data
    (``data/course_kinds.json``)."""

    # LIS1 doctors start their six months in the municipality in March or September.
    MUNICIPAL_START = "municipal_start"
    # Physiotherapy interns' turnus year starts in mid-August and lasts a year.
    TURNUS_YEAR = "turnus_year"


class OfferingStatus(enum.StrEnum):
    """Whether an offering is visible and open."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class EnrollmentWindow(enum.StrEnum):
    """Whether an offering takes enrollments at a moment, and if not, why: the one rule the
    enroll service, the course page, the catalog and the form all use
    (``CourseOffering.enrollment_window``, and ``open_for_enrollment`` in SQL)."""

    OPEN = "open"
    NOT_PUBLISHED = "not_published"  # a draft, or cancelled
    NOT_YET = "not_yet"  # before ``enroll_opens_at``
    CLOSED = "closed"  # at or after ``enroll_closes_at``


class CourseKind(Base):
    """A kind of course (public health, emergency medicine …) with its learning objectives."""

    __tablename__ = "course_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_nn: Mapped[str] = mapped_column(sa.String(200))
    name_nb: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    # Group guidance is completed by a share of meetings, courses by attending every day.
    completion_by_share: Mapped[bool] = mapped_column(default=False)
    # Which cohorts its offerings belong to, and whether an offering must name one (supervisor
    # courses need not; when the office sets one, it is of the scheme of those supervised).
    cohort_scheme: Mapped[CohortScheme] = mapped_column(
        enum_column(CohortScheme), default=CohortScheme.MUNICIPAL_START
    )
    cohort_required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    roles: Mapped[list[KindRole]] = relationship(
        back_populates="kind", cascade="all, delete-orphan", order_by="KindRole.role"
    )
    objectives: Mapped[list[LearningObjective]] = relationship(
        back_populates="kind",
        cascade="all, delete-orphan",
        order_by="LearningObjective.position",
    )

    def name(self, locale: str | None = None) -> str:
        """The kind's name in ``locale``."""
        return pick(self, "name", locale)

    @property
    def role_set(self) -> frozenset[Role]:
        """The roles that may enroll in offerings of this kind."""
        return frozenset(r.role for r in self.roles)


class KindRole(Base):
    """One row of the eligibility table: ``role`` may enroll in offerings of ``kind``."""

    __tablename__ = "kind_roles"

    kind_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_kinds.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role), primary_key=True)
    # Whether everyone of ``role`` must complete the kind in their period (the items of a
    # roster's completion table): a rule of the programmes, set from the data file.
    mandatory: Mapped[bool] = mapped_column(default=False)

    kind: Mapped[CourseKind] = relationship(back_populates="roles")


class LearningObjective(Base):
    """A learning objective (læringsmål) a course kind covers; edited by staff, not code.

    ``code`` is our own key for the objective (the data file's and the editor's); the official
    number (``DEL1-…``, ``FKM-…``) and Bokmål wording come from Helsedirektoratet and are only
    printed when ``confirmed``: until an office has checked them against ``source_url`` the
    objective is marked "to be confirmed by the office" to staff and kept off certificates and
    public pages, so nothing unofficial is ever presented as official.
    """

    __tablename__ = "learning_objectives"
    __table_args__ = (sa.UniqueConstraint("kind_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("course_kinds.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(20))
    text_nn: Mapped[str] = mapped_column(sa.Text)
    text_nb: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    # The number Helsedirektoratet gives the objective; None while it is not confirmed.
    official_number: Mapped[str | None] = mapped_column(sa.String(30), default=None)
    source_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # The date the version of the objective in force applies from (e.g. 2025-09-01 for FKM).
    version_date: Mapped[date | None] = mapped_column(sa.Date, default=None)
    confirmed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Space-separated locales whose text is our translation, not the official wording.
    translated: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")

    kind: Mapped[CourseKind] = relationship(back_populates="objectives")

    def text(self, locale: str | None = None) -> str:
        """The objective's text in ``locale``."""
        return pick(self, "text", locale)

    @property
    def translated_locales(self) -> frozenset[str]:
        """The locales whose text is a translation of the official (Bokmål) wording."""
        return frozenset(self.translated.split())

    @property
    def printable(self) -> bool:
        """Whether participants may see it: confirmed, with its official number."""
        return self.confirmed and bool(self.official_number)


class OfferingFacts:
    """What an offering shows and decides from its own columns: its title, its seats and
    whether it takes enrollments. Shared by ``CourseOffering`` and the catalog's rows
    (``enrollment.services.catalog.CatalogRow``, loaded without the ORM), so each rule has one
    definition. Needs ``title_*``, ``capacity``, ``seats_taken``, ``meeting_url``, ``status``,
    ``enroll_opens_at``, ``enroll_closes_at``, ``county`` and ``kind``."""

    __slots__ = ()

    def title(self, locale: str | None = None) -> str:
        """The offering's title in ``locale``, falling back to the office's language."""
        return pick(self, "title", locale, self.county.default_locale) or self.kind.name(locale)

    def description(self, locale: str | None = None) -> str:
        """The offering's description in ``locale``, falling back to the office's language."""
        return pick(self, "description", locale, self.county.default_locale)

    @property
    def seats_left(self) -> int:
        """Free seats; never negative."""
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        """True when every seat is taken."""
        return self.seats_taken >= self.capacity

    @property
    def is_digital(self) -> bool:
        """Whether the course is held online: it has a meeting link (which only confirmed
        participants are given)."""
        return bool(self.meeting_url)

    def enrollment_window(self, now: datetime) -> EnrollmentWindow:
        """Whether the offering takes enrollments at ``now``: published, from the moment
        enrollment opens until (not including) the deadline."""
        if self.status != OfferingStatus.PUBLISHED:
            return EnrollmentWindow.NOT_PUBLISHED
        if now < self.enroll_opens_at:
            return EnrollmentWindow.NOT_YET
        if now >= self.enroll_closes_at:
            return EnrollmentWindow.CLOSED
        return EnrollmentWindow.OPEN


class CourseOffering(OfferingFacts, Base):
    """One run of a course kind by one county office, for one cohort."""

    __tablename__ = "course_offerings"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        # Second line of defence behind the row lock: the seat counter can never pass capacity.
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within"),
        sa.CheckConstraint("waitlist_length >= 0", name="waitlist_not_negative"),
        sa.Index("ix_course_offerings_status_county", "status", "county_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("course_kinds.id"), index=True)
    # The cohort's first day in the kind's scheme: 1 March or 1 September of the municipal
    # start for LIS1 courses, 1 August of the turnus year's start for interns' courses; None
    # for a course (supervisor training) the office set no cohort for.
    cohort: Mapped[date | None] = mapped_column(sa.Date, index=True)
    title_nn: Mapped[str] = mapped_column(sa.String(200), default="")
    title_nb: Mapped[str] = mapped_column(sa.String(200), default="")
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    description_nn: Mapped[str] = mapped_column(sa.Text, default="")
    description_nb: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    venue: Mapped[str] = mapped_column(sa.String(300), default="")
    capacity: Mapped[int] = mapped_column(default=30)
    seats_taken: Mapped[int] = mapped_column(default=0)
    # What the seat decision reads besides ``seats_taken`` (``services.seats.take_turn``,
    # one statement on this row): how many are waitlisted, and the latest arrival, so that
    # each arrival is strictly later and the waiting list's order is the order of decisions.
    # ``change_status`` keeps both counters right on every other move.
    waitlist_length: Mapped[int] = mapped_column(default=0)
    last_arrival_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enroll_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enroll_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancel_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    refund_eligible: Mapped[bool] = mapped_column(default=True)
    min_share_percent: Mapped[int] = mapped_column(default=75)
    status: Mapped[OfferingStatus] = mapped_column(
        enum_column(OfferingStatus), default=OfferingStatus.DRAFT
    )
    is_demo: Mapped[bool] = mapped_column(default=False)
    signer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    signer_title: Mapped[str] = mapped_column(sa.String(200), default="")
    # Days before the first session that confirmed participants are reminded (0: no reminder),
    # by the periodic ``flask reminders send`` (``enrollment.reminders``).
    reminder_days: Mapped[int] = mapped_column(default=7, server_default="7")
    # The meeting link of a digital course: shown only to confirmed participants (manage page,
    # reminder), never on public pages or the public calendar file.
    meeting_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # Hours a person offered a freed seat has to accept it (``services.offers``); None: the
    # first on the waiting list gets the seat at once.
    offer_hours: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    county: Mapped[County] = relationship()
    kind: Mapped[CourseKind] = relationship()
    sessions: Mapped[list[CourseSession]] = relationship(
        back_populates="offering",
        cascade="all, delete-orphan",
        order_by="CourseSession.starts_at",
    )

    @classmethod
    def open_for_enrollment(cls, now: datetime) -> sa.ColumnElement[bool]:
        """``enrollment_window(now) == OPEN`` as a WHERE clause (the catalog's filter)."""
        return sa.and_(cls.status == OfferingStatus.PUBLISHED, cls.enroll_opens_at <= now,
                       cls.enroll_closes_at > now)


class CourseSession(Base):
    """A day of a course or one meeting of a guidance group.

    Named ``CourseSession`` rather than ``Session`` so it never shadows SQLAlchemy's session.
    """

    __tablename__ = "course_sessions"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_offerings.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(sa.String(300), default="")

    offering: Mapped[CourseOffering] = relationship(back_populates="sessions")

    @property
    def hours(self) -> float:
        """Length of the session in hours."""
        return (self.ends_at - self.starts_at).total_seconds() / 3600
