"""Tables of the messages staff write to an offering's participants: the message, and one
delivery per enrollment it was sent to."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth import StaffUser
from core.db import Base, UTCDateTime, enum_column, utcnow
from enrollment.models.courses import CourseOffering
from enrollment.models.enrollments import Enrollment


class MessageAudience(enum.StrEnum):
    """Whom a message goes to; the statuses of each are in
    ``enrollment.services.messages.AUDIENCE_STATUSES``."""

    ALL = "all"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"

    @property
    def title(self):
        """The audience in the active language."""
        return _AUDIENCE_TITLES[self]


_AUDIENCE_TITLES = {
    MessageAudience.ALL: _l("Everyone enrolled (confirmed, pending approval and on the "
                            "waiting list)"),
    MessageAudience.CONFIRMED: _l("Confirmed participants"),
    MessageAudience.WAITLISTED: _l("Those on the waiting list"),
}


class OfferingMessage(Base):
    """One message a staff member sent to (part of) an offering's participants; the text is
    what they wrote, in one language. ``recipient_count`` is how many it went to then, kept
    when a recipient's delivery is erased."""

    __tablename__ = "offering_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("course_offerings.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    audience: Mapped[MessageAudience] = mapped_column(enum_column(MessageAudience))
    recipient_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    offering: Mapped[CourseOffering] = relationship()
    author: Mapped[StaffUser | None] = relationship()
    deliveries: Mapped[list[MessageDelivery]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True)


class MessageDelivery(Base):
    """A message sent to one enrollment: its manage page lists exactly these, so someone who
    enrolls later never sees what was sent before."""

    __tablename__ = "message_deliveries"
    __table_args__ = (sa.UniqueConstraint("message_id", "enrollment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("offering_messages.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)

    message: Mapped[OfferingMessage] = relationship(back_populates="deliveries")
    enrollment: Mapped[Enrollment] = relationship()
