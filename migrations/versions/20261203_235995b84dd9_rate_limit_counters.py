"""rate limit counters shared by every worker and app server

``rate_limit_counters`` holds Flask-Limiter's fixed windows (``core.limits.DatabaseStorage``):
with counters in each worker's memory, two workers let through twice the limit. On PostgreSQL
the table is UNLOGGED: counters need neither the WAL nor a standby, and after a crash everyone
simply starts a fresh window. ``expires_at`` is a Unix time (UTC seconds), as the ``limits``
library speaks it.

Revision ID: 235995b84dd9
Revises: c4e8a1f05b7d
Create Date: 2026-12-03 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '235995b84dd9'
down_revision: str | None = 'c4e8a1f05b7d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'rate_limit_counters',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE rate_limit_counters SET UNLOGGED')


def downgrade() -> None:
    """Revert this migration.

    The counters are dropped: every limit starts a fresh window (the older release counts in
    each worker's memory).
    """
    op.drop_table('rate_limit_counters')
