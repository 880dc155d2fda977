"""Tables of the certificates plugin: the certificates of attendance as issued."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.auth import StaffUser
from core.db import Base, UTCDateTime, utcnow
from enrollment.models import Enrollment


class Certificate(Base):
    """A certificate of attendance as issued: its public code and a snapshot of what it states.

    The snapshot keeps the certificate and its verification page the same when the offering,
    its objectives or the participant's details are edited later; re-issuing after a
    correction refreshes it and keeps the code. A revoked certificate stays, for verification.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    locale: Mapped[str] = mapped_column(sa.String(2), default="nn")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when staff issued the certificate by hand, with their reason.
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    manual_reason: Mapped[str] = mapped_column(sa.Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(sa.Text, default="")
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id"))
    snapshot: Mapped[dict] = mapped_column(sa.JSON)

    enrollment: Mapped[Enrollment] = relationship()
    issued_by: Mapped[StaffUser | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[StaffUser | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_revoked(self) -> bool:
        """Whether the certificate has been withdrawn."""
        return self.revoked_at is not None
