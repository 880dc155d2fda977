"""claims keep their offering: the staff queue by county without a visit to each enrollment

``claims.offering_id`` is the claim's enrollment's offering (an enrollment never changes
offering; a move makes a new enrollment), filled in from the enrollments. With it the claims
queue finds a county's claims on the claims' own indexes: one status in submission order
(``ix_claims_status_submitted_at``, now covering the offering instead of the enrollment),
every status but drafts in submission order (``ix_claims_sent_submitted_at``, partial), and
the count of a county's claims by offering and status (``ix_claims_offering_status``), which
reads only that county's entries instead of probing every enrollment of the county.
Measured with bench/staff.py; plans in bench/plans/.

Revision ID: 271ec408199e
Revises: 64aba927f732
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '271ec408199e'
down_revision: str | None = '64aba927f732'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT = sa.text("status <> 'draft'")


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offering_id', sa.Integer(), nullable=True))
    op.execute("UPDATE claims SET offering_id = (SELECT enrollments.offering_id FROM enrollments"
               " WHERE enrollments.id = claims.enrollment_id)")
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.alter_column('offering_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_claims_offering_id_course_offerings'),
                                    'course_offerings', ['offering_id'], ['id'])
        batch_op.drop_index('ix_claims_status_submitted_at')
        batch_op.create_index('ix_claims_status_submitted_at', ['status', 'submitted_at', 'id'],
                              unique=False, postgresql_include=['offering_id'])
        batch_op.create_index('ix_claims_sent_submitted_at', ['submitted_at', 'id'],
                              unique=False, postgresql_include=['offering_id'],
                              postgresql_where=SENT, sqlite_where=SENT)
        batch_op.create_index('ix_claims_offering_status',
                              ['offering_id', 'status', 'submitted_at', 'id'], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_offering_status')
        batch_op.drop_index('ix_claims_sent_submitted_at', postgresql_where=SENT,
                            sqlite_where=SENT)
        batch_op.drop_index('ix_claims_status_submitted_at')
        batch_op.create_index('ix_claims_status_submitted_at', ['status', 'submitted_at', 'id'],
                              unique=False, postgresql_include=['enrollment_id'])
        batch_op.drop_constraint(batch_op.f('fk_claims_offering_id_course_offerings'),
                                 type_='foreignkey')
        batch_op.drop_column('offering_id')
