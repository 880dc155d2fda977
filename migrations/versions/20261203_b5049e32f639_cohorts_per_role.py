"""cohorts per role: each course kind's cohort scheme; an offering's cohort may be empty

``course_kinds.cohort_scheme`` says which cohorts a kind's offerings belong to (the LIS1
doctors' March/September start in the municipality, or the physiotherapy interns' turnus year
from mid-August) and ``course_kinds.cohort_required`` whether an offering must name one
(supervisor training need not). ``course_offerings.cohort`` becomes nullable.

Existing rows are brought in line: kinds get the scheme of ``enrollment/data/course_kinds.json``
(``flask kinds load`` keeps it so), and offerings of the interns' kinds move from the LIS1
cohort they were put in to the turnus year running at that month (stored as 1 August).
Downgrading puts turnus years back as the September cohort of the same year and gives an
offering without a cohort the LIS1 cohort in service when its first course day began.

Revision ID: b5049e32f639
Revises: 5e1f0c2a9b11
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = 'b5049e32f639'
down_revision: str | None = '5e1f0c2a9b11'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TURNUS_KINDS = ('physio_intern_course', 'supervisor_training_physio')
OPTIONAL_KINDS = ('supervisor_training_lis1', 'supervisor_training_physio')

kinds = sa.table('course_kinds', sa.column('id', sa.Integer), sa.column('code', sa.String),
                 sa.column('cohort_scheme', sa.String),
                 sa.column('cohort_required', sa.Boolean))
offerings = sa.table('course_offerings', sa.column('id', sa.Integer),
                     sa.column('kind_id', sa.Integer), sa.column('cohort', sa.Date),
                     sa.column('created_at', sa.DateTime))
sessions = sa.table('course_sessions', sa.column('offering_id', sa.Integer),
                    sa.column('starts_at', sa.DateTime))


def _scheme_enum() -> sa.Enum:
    return sa.Enum('municipal_start', 'turnus_year', name='cohortscheme', native_enum=False,
                   create_constraint=True, length=20)


def _municipal_cohort(day: date) -> date:
    """The LIS1 cohort (1 March or 1 September) in service on ``day``."""
    if day.month >= 9:
        return date(day.year, 9, 1)
    if day.month >= 3:
        return date(day.year, 3, 1)
    return date(day.year - 1, 9, 1)


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('course_kinds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cohort_scheme', _scheme_enum(), nullable=True))
        batch_op.add_column(sa.Column('cohort_required', sa.Boolean(), nullable=True))
    op.execute(kinds.update().values(cohort_scheme='municipal_start', cohort_required=True))
    op.execute(kinds.update().where(kinds.c.code.in_(TURNUS_KINDS))
               .values(cohort_scheme='turnus_year'))
    op.execute(kinds.update().where(kinds.c.code.in_(OPTIONAL_KINDS))
               .values(cohort_required=False))
    with op.batch_alter_table('course_kinds', schema=None) as batch_op:
        batch_op.alter_column('cohort_scheme', existing_type=_scheme_enum(), nullable=False)
        batch_op.alter_column('cohort_required', existing_type=sa.Boolean(), nullable=False)

    with op.batch_alter_table('course_offerings', schema=None) as batch_op:
        batch_op.alter_column('cohort', existing_type=sa.Date(), nullable=True)

    bind = op.get_bind()
    rows = bind.execute(
        sa.select(offerings.c.id, offerings.c.cohort)
        .join(kinds, kinds.c.id == offerings.c.kind_id)
        .where(kinds.c.cohort_scheme == 'turnus_year', offerings.c.cohort.is_not(None))
    ).all()
    for offering_id, cohort in rows:
        year = cohort.year if cohort.month >= 8 else cohort.year - 1
        bind.execute(offerings.update().where(offerings.c.id == offering_id)
                     .values(cohort=date(year, 8, 1)))


def downgrade() -> None:
    """Revert this migration."""
    bind = op.get_bind()
    first_day = (sa.select(sa.func.min(sessions.c.starts_at))
                 .where(sessions.c.offering_id == offerings.c.id).scalar_subquery())
    rows = bind.execute(
        sa.select(offerings.c.id, offerings.c.cohort, first_day, offerings.c.created_at)
    ).all()
    for offering_id, cohort, first, created in rows:
        if cohort is None:
            moment = first or created
            cohort = _municipal_cohort(moment.date() if moment is not None else date.today())
        elif cohort.month not in (3, 9):
            cohort = date(cohort.year, 9, 1)
        else:
            continue
        bind.execute(offerings.update().where(offerings.c.id == offering_id)
                     .values(cohort=cohort))

    with op.batch_alter_table('course_offerings', schema=None) as batch_op:
        batch_op.alter_column('cohort', existing_type=sa.Date(), nullable=False)

    with op.batch_alter_table('course_kinds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_course_kinds_cohortscheme'), type_='check')
        batch_op.drop_column('cohort_required')
        batch_op.drop_column('cohort_scheme')
