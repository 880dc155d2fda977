"""cohort rosters: municipalities, rosters with their entries, imports and hand-made matches,
and which course kinds are mandatory for a role

The municipalities are reference data (``flask counties load`` fills them from
``core/data/municipalities.json``). A roster is the office's list of the people of one role
starting in one cohort; ``roster_imports`` holds each uploaded file's checked rows between the
preview and the confirmation, and stays as the record of the import. ``kind_roles.mandatory``
is filled by ``flask kinds load``; existing rows start as not mandatory.

Revision ID: 5d8a3c71e29f
Revises: bf82e50e86cd
Create Date: 2026-12-04 11:40:03.708789
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '5d8a3c71e29f'
down_revision: str | None = 'bf82e50e86cd'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table('municipalities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=4), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_municipalities_county_id_counties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_municipalities')),
    sa.UniqueConstraint('number', name=op.f('uq_municipalities_number'))
    )
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_municipalities_county_id'), ['county_id'], unique=False)

    op.create_table('rosters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('lis1', 'physio_intern', 'chiro_intern', 'supervisor', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('cohort', sa.Date(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_rosters_county_id_counties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rosters')),
    sa.UniqueConstraint('county_id', 'role', 'cohort', name=op.f('uq_rosters_county_id'))
    )
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rosters_county_id'), ['county_id'], unique=False)

    op.create_table('roster_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('hpr_number', sa.String(length=9), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_roster_entries_municipality_id_municipalities')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_entries_roster_id_rosters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entries'))
    )
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_entries_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_index('ix_roster_entries_roster_email', ['roster_id', 'email'], unique=False)
        batch_op.create_index('ix_roster_entries_roster_hpr', ['roster_id', 'hpr_number'], unique=False)

    op.create_table('roster_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('lis1', 'physio_intern', 'chiro_intern', 'supervisor', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('cohort', sa.Date(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('staged', 'applied', 'discarded', name='importstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('roster_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['county_id'], ['counties.id'], name=op.f('fk_roster_imports_county_id_counties')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_roster_imports_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_imports_roster_id_rosters'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_imports'))
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_imports_county_id'), ['county_id'], unique=False)

    op.create_table('roster_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('chosen_by_id', sa.Integer(), nullable=True),
    sa.Column('chosen_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chosen_by_id'], ['staff_users.id'], name=op.f('fk_roster_matches_chosen_by_id_staff_users')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_roster_matches_enrollment_id_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['roster_entries.id'], name=op.f('fk_roster_matches_entry_id_roster_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_matches_roster_id_rosters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_matches')),
    sa.UniqueConstraint('roster_id', 'enrollment_id', name=op.f('uq_roster_matches_roster_id'))
    )
    with op.batch_alter_table('roster_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_matches_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_matches_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('kind_roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mandatory', sa.Boolean(), nullable=True))
    op.execute(sa.table('kind_roles', sa.column('mandatory', sa.Boolean))
               .update().values(mandatory=False))
    with op.batch_alter_table('kind_roles', schema=None) as batch_op:
        batch_op.alter_column('mandatory', existing_type=sa.Boolean(), nullable=False)



def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table('kind_roles', schema=None) as batch_op:
        batch_op.drop_column('mandatory')

    with op.batch_alter_table('roster_matches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_matches_entry_id'))
        batch_op.drop_index(batch_op.f('ix_roster_matches_enrollment_id'))

    op.drop_table('roster_matches')
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_imports_county_id'))

    op.drop_table('roster_imports')
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_entries_roster_hpr')
        batch_op.drop_index('ix_roster_entries_roster_email')
        batch_op.drop_index(batch_op.f('ix_roster_entries_municipality_id'))

    op.drop_table('roster_entries')
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rosters_county_id'))

    op.drop_table('rosters')
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_municipalities_county_id'))

    op.drop_table('municipalities')
