"""Tables of the enrollment plugin: course kinds, offerings, sessions, participants, enrollments."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth import StaffUser
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
    ``enrollment.cohorts``, the scheme of each kind is data (``data/course_kinds.json``)."""

    # LIS1 doctors start their six months in the municipality in March or September.
    MUNICIPAL_START = "municipal_start"
    # Physiotherapy interns' turnus year starts in mid-August and lasts a year.
    TURNUS_YEAR = "turnus_year"


class OfferingStatus(enum.StrEnum):
    """Whether an offering is visible and open."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class EnrollmentStatus(enum.StrEnum):
    """Where an enrollment stands; allowed moves are in ``enrollment.services.TRANSITIONS``."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def title(self):
        """The status in the active language."""
        return _STATUS_TITLES[self]


_STATUS_TITLES = {
    EnrollmentStatus.PENDING: _l("Pending approval"),
    EnrollmentStatus.CONFIRMED: _l("Confirmed"),
    EnrollmentStatus.WAITLISTED: _l("Waiting list"),
    # The participant withdrew (or staff withdrew them): «meldt av». «Avlyst» is only for a
    # course the office called off, which ``Enrollment.status_title`` says instead.
    EnrollmentStatus.CANCELLED: _l("Withdrawn"),
    EnrollmentStatus.REJECTED: _l("Rejected"),
}

ACTIVE_STATUSES = (
    EnrollmentStatus.PENDING,
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.WAITLISTED,
)


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


class CourseOffering(Base):
    """One run of a course kind by one county office, for one cohort."""

    __tablename__ = "course_offerings"
    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        # Second line of defence behind the row lock: the seat counter can never pass capacity.
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within"),
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    county: Mapped[County] = relationship()
    kind: Mapped[CourseKind] = relationship()
    sessions: Mapped[list[CourseSession]] = relationship(
        back_populates="offering",
        cascade="all, delete-orphan",
        order_by="CourseSession.starts_at",
    )

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

    def is_open(self, now: datetime) -> bool:
        """True when enrollment is open at ``now``."""
        return (
            self.status == OfferingStatus.PUBLISHED
            and self.enroll_opens_at <= now < self.enroll_closes_at
        )


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


class Participant(Base):
    """The person behind an enrollment, as they gave their details on the form."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    hpr_number: Mapped[str | None] = mapped_column(sa.String(9), index=True)
    employer: Mapped[str] = mapped_column(sa.String(200), default="")
    locale: Mapped[str] = mapped_column(sa.String(2), default="nn")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the privacy purge or a confirmed erasure removed the person's details.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="participant")


def about(person: Participant) -> tuple[str, int]:
    """The outbox link (``queue_mail(about=...)``) of mail about ``person``: their export and
    erasure find the mail by it."""
    return ("participant", person.id)


class Enrollment(Base):
    """A participant's place (or wish for one) in an offering."""

    __tablename__ = "enrollments"
    __table_args__ = (
        sa.Index("ix_enrollments_offering_status", "offering_id", "status"),
        # An offering's enrollments in arrival order: the participant list and the waiting
        # list without a sort, and the latest arrival read under the seat lock at once.
        sa.Index("ix_enrollments_offering_arrived", "offering_id", "arrived_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("course_offerings.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(enum_column(EnrollmentStatus))
    # Arrival order for the waiting list; set once when the enrollment is created.
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_month: Mapped[date | None] = mapped_column(sa.Date)
    needs: Mapped[str] = mapped_column(sa.Text, default="")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    offering: Mapped[CourseOffering] = relationship()
    participant: Mapped[Participant] = relationship(back_populates="enrollments")
    manage_links: Mapped[list[ManageLink]] = relationship(
        back_populates="enrollment", cascade="all, delete-orphan", order_by="ManageLink.id"
    )

    @property
    def status_title(self):
        """The status as the person reads it: an enrollment ended because the office called
        the course off says so, not that the participant withdrew."""
        if (self.status == EnrollmentStatus.CANCELLED
                and self.offering.status == OfferingStatus.CANCELLED):
            return _COURSE_CANCELLED
        return self.status.title


class ManageLink(Base):
    """One private link that opens an enrollment; only the token's SHA-256 is stored.

    An enrollment may have several: the one in the enrollment mail and one per "Lost your
    link?" mail, so asking for a link never breaks the links already in someone's inbox. A
    withdrawn link (by the participant, or by the privacy purge) stays as a row and opens
    nothing.
    """

    __tablename__ = "manage_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrollment: Mapped[Enrollment] = relationship(back_populates="manage_links")


_COURSE_CANCELLED = _l("Course cancelled")


class Attendance(Base):
    """Whether a participant was present at one session; marked by staff."""

    __tablename__ = "attendances"

    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_sessions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    present: Mapped[bool] = mapped_column(default=False)
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship()
    session: Mapped[CourseSession] = relationship()
    marked_by: Mapped[StaffUser | None] = relationship()


class ErasureStatus(enum.StrEnum):
    """Where a participant's request for erasure stands: one move, pending → confirmed, made
    only by ``enrollment.privacy.confirm_erasure``."""

    PENDING = "pending"
    CONFIRMED = "confirmed"


class ErasureRequest(Base):
    """A participant's request, from their manage page, that staff erase their details.

    The county is the offering's, so the request reaches that office's staff only.
    """

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrollments.id"), index=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id"), index=True)
    status: Mapped[ErasureStatus] = mapped_column(
        enum_column(ErasureStatus), default=ErasureStatus.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))

    participant: Mapped[Participant] = relationship()
    enrollment: Mapped[Enrollment] = relationship()
    county: Mapped[County] = relationship()
    confirmed_by: Mapped[StaffUser | None] = relationship()


class EmailChange(Base):
    """A participant's request, from their manage page, to change their e-mail address.

    The address changes only when the link mailed to the new address is opened (``confirm``);
    the old address is told and gets a link that stops the change (``cancel``). Only the
    tokens' SHA-256 are stored. Until it is confirmed, everything keeps using the old address.
    A new request replaces a pending one; the links work once and until ``expires_at``.
    """

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(sa.String(254))
    confirm_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cancel_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the change was confirmed, stopped (by the old address or a newer request), or None.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
    enrollment: Mapped[Enrollment] = relationship()

    def pending(self, now: datetime) -> bool:
        """Whether the change may still be confirmed or stopped."""
        return self.confirmed_at is None and self.cancelled_at is None and now < self.expires_at
