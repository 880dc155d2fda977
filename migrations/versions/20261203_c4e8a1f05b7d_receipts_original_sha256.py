"""receipts keep the sha256 of the file as uploaded

Receipts are now stored as re-written clean (a PDF without active content, an image without
metadata), so ``receipts.sha256`` describes the stored bytes and a new
``receipts.original_sha256`` the uploaded file, which duplicate detection compares (the index
moves with it). Receipts stored before this revision are the uploaded files themselves: their
original hash is their hash.

Revision ID: c4e8a1f05b7d
Revises: 3a9af0df8667
Create Date: 2026-12-03 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4e8a1f05b7d'
down_revision: str | None = '3a9af0df8667'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_sha256', sa.String(length=64), nullable=True))
    op.execute("UPDATE receipts SET original_sha256 = sha256")
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.alter_column('original_sha256', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.drop_index(batch_op.f('ix_receipts_sha256'))
        batch_op.create_index(batch_op.f('ix_receipts_original_sha256'), ['original_sha256'],
                              unique=False)


def downgrade() -> None:
    """Revert this migration.

    The hash of the file as uploaded is dropped; the older release finds duplicates by the
    stored bytes' hash, so a file uploaded again after this downgrade is not recognised as one.
    """
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_original_sha256'))
        batch_op.create_index(batch_op.f('ix_receipts_sha256'), ['sha256'], unique=False)
        batch_op.drop_column('original_sha256')
