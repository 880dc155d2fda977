"""seat decision counters: the waiting list's length and the latest arrival on the offering row

An enrollment's seat is decided in one statement on the offering's row (a conditional
``UPDATE … RETURNING``, ``enrollment.services.enrollments.take_turn``): confirmed while a seat is
free and nobody waits, else last on the waiting list. The statement reads only the row it
updates, so the row carries what the decision needs besides ``seats_taken``:
``waitlist_length`` (how many are waitlisted, so the place told is the new length) and
``last_arrival_at`` (the latest arrival, so each arrival comes strictly after it and the waiting
list's order is the order of the decisions). Both are filled from the existing enrollments.

Revision ID: bf82e50e86cd
Revises: 271ec408199e
Create Date: 2026-12-04 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = 'bf82e50e86cd'
down_revision: str | None = '271ec408199e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

offerings = sa.table('course_offerings', sa.column('id', sa.Integer),
                     sa.column('waitlist_length', sa.Integer),
                     sa.column('last_arrival_at', core.db.UTCDateTime))
enrollments = sa.table('enrollments', sa.column('offering_id', sa.Integer),
                       sa.column('status', sa.String), sa.column('arrived_at', core.db.UTCDateTime))


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('course_offerings') as batch_op:
        batch_op.add_column(sa.Column('waitlist_length', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_arrival_at', core.db.UTCDateTime(), nullable=True))
    of_offering = enrollments.c.offering_id == offerings.c.id
    op.execute(offerings.update().values(
        waitlist_length=sa.select(sa.func.count()).select_from(enrollments)
        .where(of_offering, enrollments.c.status == 'waitlisted').scalar_subquery(),
        last_arrival_at=sa.select(sa.func.max(enrollments.c.arrived_at))
        .where(of_offering).scalar_subquery()))
    with op.batch_alter_table('course_offerings') as batch_op:
        batch_op.alter_column('waitlist_length', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_course_offerings_waitlist_not_negative'),
                                        'waitlist_length >= 0')


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('course_offerings') as batch_op:
        batch_op.drop_constraint(op.f('ck_course_offerings_waitlist_not_negative'), type_='check')
        batch_op.drop_column('last_arrival_at')
        batch_op.drop_column('waitlist_length')
