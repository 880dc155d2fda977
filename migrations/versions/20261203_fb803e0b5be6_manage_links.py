"""manage links: several working links per enrollment, each withdrawable

``manage_links`` replaces ``enrollments.manage_token_hash``: asking for a lost link adds a link
instead of replacing the one in the participant's inbox, and a participant can withdraw their
other links. Upgrading moves each enrollment's hash into a link, so every link already mailed
keeps working. Downgrading puts the newest working link's hash back on the enrollment; an
enrollment without one gets a random hash nobody holds (its links were withdrawn).

Revision ID: fb803e0b5be6
Revises: d8d307d41213
Create Date: 2026-12-03 09:00:00.000000
"""

import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'fb803e0b5be6'
down_revision: str | None = 'd8d307d41213'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'manage_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('withdrawn_at', core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'],
                                name=op.f('fk_manage_links_enrollment_id_enrollments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_manage_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_manage_links_token_hash')),
    )
    with op.batch_alter_table('manage_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manage_links_enrollment_id'), ['enrollment_id'],
                              unique=False)

    op.execute(
        'INSERT INTO manage_links (enrollment_id, token_hash, created_at) '
        'SELECT id, manage_token_hash, created_at FROM enrollments ORDER BY id'
    )

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_enrollments_manage_token_hash'), type_='unique')
        batch_op.drop_column('manage_token_hash')


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manage_token_hash', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    enrollments = sa.table('enrollments', sa.column('id', sa.Integer),
                           sa.column('manage_token_hash', sa.String))
    links = sa.table('manage_links', sa.column('id', sa.Integer),
                     sa.column('enrollment_id', sa.Integer), sa.column('token_hash', sa.String),
                     sa.column('withdrawn_at', core.db.UTCDateTime))
    newest = {}
    for enrollment_id, token_hash in bind.execute(
            sa.select(links.c.enrollment_id, links.c.token_hash)
            .where(links.c.withdrawn_at.is_(None)).order_by(links.c.id)):
        newest[enrollment_id] = token_hash
    for (enrollment_id,) in bind.execute(sa.select(enrollments.c.id)).all():
        token_hash = newest.get(enrollment_id) or hashlib.sha256(
            secrets.token_bytes(32)).hexdigest()
        bind.execute(sa.update(enrollments).where(enrollments.c.id == enrollment_id)
                     .values(manage_token_hash=token_hash))

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.alter_column('manage_token_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_enrollments_manage_token_hash'),
                                          ['manage_token_hash'])

    with op.batch_alter_table('manage_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manage_links_enrollment_id'))

    op.drop_table('manage_links')
