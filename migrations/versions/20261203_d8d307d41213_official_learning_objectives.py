"""official learning objectives: number, source, version date, confirmed mark, translations

``learning_objectives`` gets the official number Helsedirektoratet gives an objective, the URL
of the source and the date of the version in force, whether an office has confirmed number and
wording against that source, and which locales' texts are our translations. Existing rows are
unconfirmed: they were a starting set, not checked against the official list.

Revision ID: d8d307d41213
Revises: b5049e32f639
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd8d307d41213'
down_revision: str | None = 'b5049e32f639'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('learning_objectives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('official_number', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('source_url', sa.String(length=500), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('version_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('confirmed', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('translated', sa.String(length=20), server_default='',
                                      nullable=False))


def downgrade() -> None:
    """Revert this migration.

    The objectives' official numbers, sources, dates and confirmed marks are dropped.
    ``flask kinds load`` fills in the data file's after the next upgrade; an office's own
    confirmation of an objective must be given again.
    """
    with op.batch_alter_table('learning_objectives', schema=None) as batch_op:
        batch_op.drop_column('translated')
        batch_op.drop_column('confirmed')
        batch_op.drop_column('version_date')
        batch_op.drop_column('source_url')
        batch_op.drop_column('official_number')
