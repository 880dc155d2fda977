"""travel rules as dated data: night supplement, meal-allowance conditions, sources, own car

``rates`` get the source of each figure and a "to be confirmed by the office" mark;
``rate_schemes.allowance_rules`` holds the meal allowance's conditions; claim lines get the
night supplement kind and the journey's distance, hours and night away that the allowance
depends on; ``claims`` record the office's yes or no to the use of one's own car, who recorded
it and when.

Revision ID: 7b3e9d1c4a26
Revises: 5f6bf9e2cb77
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '7b3e9d1c4a26'
down_revision: str | None = '5f6bf9e2cb77'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RATE_KINDS = ('car_km', 'passenger_km', 'meal_day_6_12h', 'meal_day_over_12h',
               'meal_overnight', 'deduct_breakfast', 'deduct_lunch', 'deduct_dinner')
_LINE_KINDS = ('leg', 'toll', 'ferry', 'parking', 'accommodation', 'meal_allowance')
_NIGHT = 'night_supplement'


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, name: str, condition: str) -> None:
    # The enums are CHECK constraints (native_enum=False); a new value means a new constraint.
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_{name}'), condition)


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_url', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('to_be_confirmed', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('rates', schema=None) as batch_op:
        batch_op.alter_column('source_url', server_default=None)
        batch_op.alter_column('to_be_confirmed', server_default=None)
    _replace_check('rates', 'ratekind', _in('kind', (*_RATE_KINDS, _NIGHT)))

    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allowance_rules', sa.JSON(), nullable=True))
    op.execute("UPDATE rate_schemes SET allowance_rules = '{}'")
    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.alter_column('allowance_rules', existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table('claim_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journey_km', sa.Numeric(precision=7, scale=1),
                                      nullable=True))
        batch_op.add_column(sa.Column('hours', sa.Numeric(precision=4, scale=1), nullable=True))
        batch_op.add_column(sa.Column('overnight', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('claim_lines', schema=None) as batch_op:
        batch_op.alter_column('overnight', server_default=None)
    _replace_check('claim_lines', 'linekind', _in('kind', (*_LINE_KINDS, _NIGHT)))

    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_car_approved', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('own_car_recorded_at', core.db.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('own_car_recorded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_claims_own_car_recorded_by_id_staff_users'),
                                    'staff_users', ['own_car_recorded_by_id'], ['id'])


def downgrade() -> None:
    """Revert this migration.

    The older schema has no night supplement. A claim's night-supplement line goes back as an
    accommodation cost of the same amount (paid as claimed, no rate), so every claim keeps the
    sum of its lines and what was approved and paid; deleting the lines would have left
    approved and paid claims whose lines no longer add up. The night-supplement rates are
    deleted: they are data ``flask rates load`` gives back after the next upgrade. The journey's
    distance, hours and night away, the allowance conditions, the rates' sources and the own-car
    decision are dropped with their columns.
    """
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_claims_own_car_recorded_by_id_staff_users'),
                                 type_='foreignkey')
        batch_op.drop_column('own_car_recorded_by_id')
        batch_op.drop_column('own_car_recorded_at')
        batch_op.drop_column('own_car_approved')

    op.execute(sa.text(
        "UPDATE claim_lines SET kind = 'accommodation', amount_paid_ore = amount_ore,"
        " rate_id = NULL, rate_ore = NULL WHERE kind = :kind").bindparams(kind=_NIGHT))
    _replace_check('claim_lines', 'linekind', _in('kind', _LINE_KINDS))
    with op.batch_alter_table('claim_lines', schema=None) as batch_op:
        batch_op.drop_column('overnight')
        batch_op.drop_column('hours')
        batch_op.drop_column('journey_km')

    with op.batch_alter_table('rate_schemes', schema=None) as batch_op:
        batch_op.drop_column('allowance_rules')

    # ON DELETE SET NULL does not act while SQLite's foreign keys are off (migrations/env.py):
    # whatever still refers to the rates deleted lets go of them first.
    night_rates = "SELECT id FROM rates WHERE kind = :kind"
    for column in ('rate_id', 'supplement_rate_id'):
        op.execute(sa.text(f"UPDATE claim_lines SET {column} = NULL"  # noqa: S608 (our names)
                           f" WHERE {column} IN ({night_rates})").bindparams(kind=_NIGHT))
    op.execute(sa.text("DELETE FROM rates WHERE kind = :kind").bindparams(kind=_NIGHT))
    _replace_check('rates', 'ratekind', _in('kind', _RATE_KINDS))
    with op.batch_alter_table('rates', schema=None) as batch_op:
        batch_op.drop_column('to_be_confirmed')
        batch_op.drop_column('source_url')
