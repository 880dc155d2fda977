"""recorded mail: the outbox row says what to render after the commit

A service records the kind of mail, the recipient, the language and the ids it needs
(``core/mail_kinds.py``); the row is rendered after the change is committed, so no template is
rendered while the transaction and the seat lock are held. ``rendered_at`` is empty until then;
rows queued already rendered (``queue_mail``) have no kind. Existing rows are all rendered.

Revision ID: 9c2e7f4a1b63
Revises: 235995b84dd9
Create Date: 2026-12-04 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '9c2e7f4a1b63'
down_revision: str | None = '235995b84dd9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rendered_at', core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Revert this migration. Recorded mail not yet rendered cannot be kept without its kind:
    it is removed (listed in tests/test_migrations.py's DELETED_BY_DOWNGRADE)."""
    op.execute("DELETE FROM outbox_messages WHERE kind IS NOT NULL AND rendered_at IS NULL")
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_column('rendered_at')
        batch_op.drop_column('params')
        batch_op.drop_column('kind')
