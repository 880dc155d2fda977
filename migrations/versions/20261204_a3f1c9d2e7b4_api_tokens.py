"""api tokens: staff personal access tokens for the JSON API

``api_tokens`` holds each token's public id and the SHA-256 of its secret (never the token),
its holder, the county office it works for, whether it may write, and when it expires, was
revoked and was last used. Downgrading drops the table: every token stops working.

Revision ID: a3f1c9d2e7b4
Revises: 658c47d987a0
Create Date: 2026-12-04 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'a3f1c9d2e7b4'
down_revision: str | None = '658c47d987a0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=16), nullable=False),
        sa.Column('secret_sha256', sa.String(length=64), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('county_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('can_write', sa.Boolean(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', core.db.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['county_id'], ['counties.id'],
                                name=op.f('fk_api_tokens_county_id_counties')),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], ondelete='CASCADE',
                                name=op.f('fk_api_tokens_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('public_id', name=op.f('uq_api_tokens_public_id')),
    )
    op.create_index(op.f('ix_api_tokens_staff_user_id'), 'api_tokens', ['staff_user_id'],
                    unique=False)


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index(op.f('ix_api_tokens_staff_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
