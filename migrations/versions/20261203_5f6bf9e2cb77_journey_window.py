"""journey window per rate scheme

A claim's legs and costs are dated inside the journey window: from the day before the first
attended session to the day after the last. Each office's rate scheme says how many days before
and after (``rate_schemes.journey_days_before``/``journey_days_after``, the national default
1/1); existing schemes get the default.

Revision ID: 5f6bf9e2cb77
Revises: fb803e0b5be6
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5f6bf9e2cb77'
down_revision: str | None = 'fb803e0b5be6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    # The server default fills the rows that exist; the model gives new rows their value.
    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journey_days_before', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('journey_days_after', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.alter_column('journey_days_before', server_default=None)
        batch_op.alter_column('journey_days_after', server_default=None)
        batch_op.create_check_constraint(
            'journey_days_not_negative', 'journey_days_before >= 0 AND journey_days_after >= 0')


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rate_schemes_journey_days_not_negative'),
                                 type_='check')
        batch_op.drop_column('journey_days_after')
        batch_op.drop_column('journey_days_before')
