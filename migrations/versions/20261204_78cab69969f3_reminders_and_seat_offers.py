"""reminders and seat offers: the course reminder's days and a digital course's meeting link,
waiting-list offers that expire, and the reminders claimed for sending

``course_offerings`` gets ``reminder_days`` (7 by default; 0: no reminder), ``meeting_url``
(empty unless digital) and ``offer_hours`` (empty: a freed seat is given at once, as before).
An enrollment may now be ``offered`` a seat until ``offer_expires_at``, or its offer
``offer_expired``. ``sent_reminders`` holds one row per reminder kind, subject and event, so
``flask reminders send`` sends each once, also on several machines at once.

The downgrade turns an open offer into the seat it holds (confirmed, as the seat counter
already counts it) and an expired offer into a withdrawn enrollment.

Revision ID: 78cab69969f3
Revises: bf82e50e86cd
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '78cab69969f3'
down_revision: str | None = '5d8a3c71e29f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ('pending', 'confirmed', 'waitlisted', 'cancelled', 'rejected')
NEW = (*OLD, 'offered', 'offer_expired')


def _status_check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'sent_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('event_key', sa.String(length=100), nullable=False),
        sa.Column('sent_at', core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_reminders')),
        sa.UniqueConstraint('kind', 'subject_id', 'event_key',
                            name=op.f('uq_sent_reminders_kind')),
    )
    with op.batch_alter_table('course_offerings') as batch_op:
        batch_op.add_column(sa.Column('reminder_days', sa.Integer(), server_default='7',
                                      nullable=False))
        batch_op.add_column(sa.Column('meeting_url', sa.String(length=500), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('offer_hours', sa.Integer(), nullable=True))
    with op.batch_alter_table('enrollments') as batch_op:
        batch_op.add_column(sa.Column('offer_expires_at', core.db.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_enrollments_enrollmentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_enrollments_enrollmentstatus'),
                                         _status_check(NEW))


def downgrade() -> None:
    """Revert this migration."""
    op.execute("UPDATE enrollments SET status = 'confirmed' WHERE status = 'offered'")
    op.execute("UPDATE enrollments SET status = 'cancelled' WHERE status = 'offer_expired'")
    with op.batch_alter_table('enrollments') as batch_op:
        batch_op.drop_constraint(op.f('ck_enrollments_enrollmentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_enrollments_enrollmentstatus'),
                                         _status_check(OLD))
        batch_op.drop_column('offer_expires_at')
    with op.batch_alter_table('course_offerings') as batch_op:
        batch_op.drop_column('offer_hours')
        batch_op.drop_column('meeting_url')
        batch_op.drop_column('reminder_days')
    op.drop_table('sent_reminders')
