"""offering messages: staff write to an offering's participants

``offering_messages`` holds what a staff member wrote to (part of) an offering's participants;
``message_deliveries`` one row per enrollment it was sent to, so a manage page lists exactly
the messages its holder was sent. Downgrading drops both tables and the messages with them
(the mail already sent stays in the outbox).

Revision ID: 658c47d987a0
Revises: 78cab69969f3
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '658c47d987a0'
down_revision: str | None = '78cab69969f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'offering_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('offering_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('audience', sa.Enum('all', 'confirmed', 'waitlisted', name='messageaudience',
                                      native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('recipient_count', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['staff_users.id'],
                                name=op.f('fk_offering_messages_author_id_staff_users')),
        sa.ForeignKeyConstraint(['offering_id'], ['course_offerings.id'],
                                name=op.f('fk_offering_messages_offering_id_course_offerings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_offering_messages')),
    )
    with op.batch_alter_table('offering_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offering_messages_offering_id'), ['offering_id'],
                              unique=False)
    op.create_table(
        'message_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'],
                                name=op.f('fk_message_deliveries_enrollment_id_enrollments'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['offering_messages.id'],
                                name=op.f('fk_message_deliveries_message_id_offering_messages'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_message_deliveries')),
        sa.UniqueConstraint('message_id', 'enrollment_id',
                            name=op.f('uq_message_deliveries_message_id')),
    )
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_deliveries_enrollment_id'),
                              ['enrollment_id'], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_deliveries_enrollment_id'))
    op.drop_table('message_deliveries')
    with op.batch_alter_table('offering_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offering_messages_offering_id'))
    op.drop_table('offering_messages')
