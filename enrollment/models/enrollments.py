"""Tables of the people side of enrollment: participants, their enrollments, manage links,
attendance, requests for erasure and changes of e-mail address."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth import StaffUser
from core.db import Base, UTCDateTime, enum_column, utcnow
from core.models import County
from enrollment.models.courses import (
    CourseOffering,
    CourseSession,
    OfferingStatus,
    Role,
)


class EnrollmentStatus(enum.StrEnum):
    """Where an enrollment stands; allowed moves are in
    ``enrollment.services.seats.TRANSITIONS``."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    # A freed seat is held for the person until ``Enrollment.offer_expires_at``; it counts as
    # taken. Accepted it is confirmed; not accepted in time it is ``OFFER_EXPIRED``, and the
    # seat is offered to the next in line.
    OFFERED = "offered"
    OFFER_EXPIRED = "offer_expired"

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
    EnrollmentStatus.OFFERED: _l("Seat offered"),
    EnrollmentStatus.OFFER_EXPIRED: _l("Offer expired"),
}

ACTIVE_STATUSES = (
    EnrollmentStatus.PENDING,
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.WAITLISTED,
    EnrollmentStatus.OFFERED,
)

# The statuses that hold a seat (``CourseOffering.seats_taken`` counts them).
SEATED_STATUSES = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.OFFERED)


class Participant(Base):
    """One person behind one or more enrollments, known by a confirmed e-mail address.

    An enrollment is made with the address someone typed, so it gets a participant of its own
    with ``email_confirmed_at`` empty: typing an address proves nothing. The address counts as
    confirmed once its holder opens a link mailed to it (``services.people.confirm_address``:
    the link of a personal-data or erasure request, or of a change of address); the participant
    is then merged into the person who already holds that confirmed address, if any. At most
    one participant holds a given confirmed address.

    The row holds the person's current details (name, mobile, role, HPR number, employer,
    language): those last given on a form or changed on a manage page, which staff pages,
    mail and certificates use. What was typed with each enrollment is kept on the enrollment
    (``Enrollment.given_details``) when a merge brings several together, so nothing is lost.
    """

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
    # When the holder of ``email`` opened a link mailed to it; None while it is only typed.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    # The details given with this enrollment (``people.DETAILS``: name, mobile, role, HPR
    # number, employer, language), set when it joined a person whose details may differ; None
    # while the participant's own row is what was given.
    given_details: Mapped[dict | None] = mapped_column(sa.JSON)
    # Until when an offered seat may be accepted (status ``OFFERED``); kept afterwards, so the
    # manage page can say when the offer ran out.
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offering: Mapped[CourseOffering] = relationship()
    participant: Mapped[Participant] = relationship(back_populates="enrollments")
    manage_links: Mapped[list[ManageLink]] = relationship(
        back_populates="enrollment", cascade="all, delete-orphan", order_by="ManageLink.id"
    )

    @property
    def role(self) -> Role:
        """The role given with this enrollment. What an enrollment gives (a travel refund, the
        competence-portal note) follows the role it was made in, even when the same person
        has enrolled in another role since."""
        given = (self.given_details or {}).get("role")
        return Role(given) if given else self.participant.role

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
    only by ``enrollment.services.privacy.confirm_erasure``."""

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


class PrivacyPurpose(enum.StrEnum):
    """What a privacy link, once opened, does for the person."""

    EXPORT = "export"
    ERASURE = "erasure"


class PrivacyLink(Base):
    """A one-time link mailed to a person's address to deliver their data or file their request
    for erasure (``services.privacy_links``). Asked for from any manage link; only the link in
    the mail does it, so whoever holds a manage link but not the address learns nothing. Only
    the token's SHA-256 is stored."""

    __tablename__ = "privacy_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    # The enrollment whose manage page asked: its county gets the request for erasure first.
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[PrivacyPurpose] = mapped_column(enum_column(PrivacyPurpose))
    # The address the link was mailed to: it works only while that is still the person's.
    email: Mapped[str] = mapped_column(sa.String(254))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
    enrollment: Mapped[Enrollment] = relationship()

    def usable(self, now: datetime) -> bool:
        """Whether the link still does what it was mailed for."""
        return self.used_at is None and now < self.expires_at
