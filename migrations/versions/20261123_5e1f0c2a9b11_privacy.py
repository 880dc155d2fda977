"""privacy: erasure requests and the participants' anonymised mark

``participants.anonymised_at`` is set when the privacy purge or a confirmed erasure removed a
person's details; ``erasure_requests`` holds participants' requests for erasure until staff of the
office confirm them.

Revision ID: 5e1f0c2a9b11
Revises: aed647ebcc3d
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '5e1f0c2a9b11'
down_revision: str | None = 'aed647ebcc3d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'erasure_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('county_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'confirmed', name='erasurestatus',
                                    native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('requested_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', core.db.UTCDateTime(), nullable=True),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['staff_users.id'],
                                name=op.f('fk_erasure_requests_confirmed_by_id_staff_users')),
        sa.ForeignKeyConstraint(['county_id'], ['counties.id'],
                                name=op.f('fk_erasure_requests_county_id_counties')),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'],
                                name=op.f('fk_erasure_requests_enrollment_id_enrollments')),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                                name=op.f('fk_erasure_requests_participant_id_participants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests')),
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_requests_county_id'), ['county_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_erasure_requests_enrollment_id'), ['enrollment_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_erasure_requests_participant_id'),
                              ['participant_id'], unique=False)

    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', core.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_participants_anonymised_at'), ['anonymised_at'],
                              unique=False)


def downgrade() -> None:
    """Revert this migration.

    Erasure requests and the anonymised mark are dropped: the older release has neither.
    Participants anonymised stay anonymised (their data was overwritten); a request still
    pending is lost, so confirm or refuse the pending requests before downgrading.
    """
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_anonymised_at'))
        batch_op.drop_column('anonymised_at')

    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_requests_participant_id'))
        batch_op.drop_index(batch_op.f('ix_erasure_requests_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_erasure_requests_county_id'))

    op.drop_table('erasure_requests')
