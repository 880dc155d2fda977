"""personal data by link: outbox mail linked to its person, deferred jobs, e-mail changes

``outbox_messages`` get ``subject_type``/``subject_id``: the person a mail is about, by which
the personal-data export and erasure find it (never by the address). Mail queued before this
revision has no link and is in no export; it is not back-filled, since matching addresses is
exactly what let a participant read mail to an address they had typed in. ``deferred_jobs`` hold
the work the lost-link and forgot-password forms leave to the outbox sender. ``email_changes``
hold a participant's change of address until the link sent to the new address is opened.

Revision ID: c41e7a9d2b58
Revises: 7b3e9d1c4a26
Create Date: 2026-12-03 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'c41e7a9d2b58'
down_revision: str | None = '7b3e9d1c4a26'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_messages_subject_type_subject_id',
                              ['subject_type', 'subject_id'], unique=False)

    op.create_table(
        'deferred_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('run_after', core.db.UTCDateTime(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deferred_jobs')),
    )
    with op.batch_alter_table('deferred_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_deferred_jobs_run_after', ['run_after'], unique=False)

    op.create_table(
        'email_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('new_email', sa.String(length=254), nullable=False),
        sa.Column('confirm_hash', sa.String(length=64), nullable=False),
        sa.Column('cancel_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('confirmed_at', core.db.UTCDateTime(), nullable=True),
        sa.Column('cancelled_at', core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'],
                                name=op.f('fk_email_changes_enrollment_id_enrollments'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                                name=op.f('fk_email_changes_participant_id_participants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_changes')),
        sa.UniqueConstraint('cancel_hash', name=op.f('uq_email_changes_cancel_hash')),
        sa.UniqueConstraint('confirm_hash', name=op.f('uq_email_changes_confirm_hash')),
    )
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_changes_enrollment_id'), ['enrollment_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_email_changes_participant_id'),
                              ['participant_id'], unique=False)


def downgrade() -> None:
    """Revert this migration.

    Pending e-mail changes and deferred jobs are dropped, and queued mail loses the link to its
    person: the older release has none of them. Run ``flask mail send`` first, so the lost-link
    and forgot-password requests waiting as deferred jobs are done; a pending change of
    address is asked for again.
    """
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_changes_participant_id'))
        batch_op.drop_index(batch_op.f('ix_email_changes_enrollment_id'))
    op.drop_table('email_changes')

    with op.batch_alter_table('deferred_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_deferred_jobs_run_after')
    op.drop_table('deferred_jobs')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_subject_type_subject_id')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_type')
