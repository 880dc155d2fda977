"""one participant per person: confirmed addresses, merged duplicates, privacy links

A participant becomes the person behind all their enrollments, known by a confirmed address
(``participants.email_confirmed_at``); an enrollment keeps the details given with it
(``enrollments.given_details``) once it shares a person; ``privacy_links`` are the mailed
links that deliver a person's data or file their request for erasure.

Which existing rows count as confirmed: the holder of the address opened a link mailed to it,
as far as the data shows — a confirmed change of address to the row's current address, or a
manage link used to ask for erasure or to make a travel claim (both only possible from the
link in a mail to the address). Rows of the same normalised address (trimmed, lower case) that
are confirmed are merged into the oldest of them: enrollments, requests for erasure, changes of
address and the mail about them (outbox ``about`` links) are repointed, the person takes the
newest row's details, every merged enrollment keeps its own in ``given_details``, the audit log
records the merge (``privacy.participants_merged``), and the duplicates are removed. An
unconfirmed row stays apart until its holder opens a mailed link (``services.people``).
Claims and certificates point at enrollments, which keep their ids, so they follow.

Downgrading gives each enrollment a participant row of its own again (the first enrollment
keeps the person's row; the others get new rows with the details given with them), with the
requests for erasure and changes of address of each enrollment; privacy links are dropped.

Revision ID: 64aba927f732
Revises: 9c2e7f4a1b63
Create Date: 2026-12-04 12:00:00.000000
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '64aba927f732'
down_revision: str | None = '9c2e7f4a1b63'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DETAILS = ("full_name", "phone", "role", "hpr_number", "employer", "locale")

participants = sa.table(
    'participants', sa.column('id', sa.Integer), sa.column('email', sa.String),
    sa.column('created_at', core.db.UTCDateTime), sa.column('anonymised_at', core.db.UTCDateTime),
    sa.column('email_confirmed_at', core.db.UTCDateTime),
    *(sa.column(name, sa.String) for name in DETAILS))
enrollments = sa.table(
    'enrollments', sa.column('id', sa.Integer), sa.column('participant_id', sa.Integer),
    sa.column('given_details', sa.JSON))
erasure_requests = sa.table(
    'erasure_requests', sa.column('participant_id', sa.Integer),
    sa.column('enrollment_id', sa.Integer), sa.column('requested_at', core.db.UTCDateTime))
email_changes = sa.table(
    'email_changes', sa.column('participant_id', sa.Integer),
    sa.column('enrollment_id', sa.Integer), sa.column('new_email', sa.String),
    sa.column('confirmed_at', core.db.UTCDateTime))
claims = sa.table('claims', sa.column('enrollment_id', sa.Integer),
                  sa.column('created_at', core.db.UTCDateTime))
outbox = sa.table('outbox_messages', sa.column('subject_type', sa.String),
                  sa.column('subject_id', sa.Integer))
audit_events = sa.table(
    'audit_events', sa.column('at', core.db.UTCDateTime), sa.column('actor_id', sa.Integer),
    sa.column('actor_email', sa.String), sa.column('action', sa.String),
    sa.column('object_type', sa.String), sa.column('object_id', sa.Integer),
    sa.column('county_id', sa.Integer), sa.column('before', sa.JSON),
    sa.column('after', sa.JSON), sa.column('ip_address', sa.String))


def _confirmed(bind) -> dict[int, datetime]:
    """Participants whose address, as the data shows, its holder used; with the moment."""
    found: dict[int, datetime] = {}

    def note(pid, at):
        if pid is not None and at is not None:
            found[pid] = min(found.get(pid, at), at)

    p = participants
    for pid, at in bind.execute(
            sa.select(p.c.id, email_changes.c.confirmed_at)
            .join(email_changes, email_changes.c.participant_id == p.c.id)
            .where(email_changes.c.confirmed_at.is_not(None),
                   sa.func.lower(email_changes.c.new_email) == sa.func.lower(p.c.email))):
        note(pid, at)
    for pid, at in bind.execute(sa.select(erasure_requests.c.participant_id,
                                          erasure_requests.c.requested_at)):
        note(pid, at)
    for pid, at in bind.execute(
            sa.select(enrollments.c.participant_id, claims.c.created_at)
            .join(claims, claims.c.enrollment_id == enrollments.c.id)):
        note(pid, at)
    return found


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', core.db.UTCDateTime(),
                                      nullable=True))
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_details', sa.JSON(), nullable=True))
    op.create_table(
        'privacy_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Enum('export', 'erasure', name='privacypurpose',
                                     native_enum=False, create_constraint=True,
                                     length=20), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
        sa.Column('used_at', core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'],
                                name=op.f('fk_privacy_links_enrollment_id_enrollments'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                                name=op.f('fk_privacy_links_participant_id_participants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_privacy_links_token_hash')),
    )
    with op.batch_alter_table('privacy_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_links_enrollment_id'), ['enrollment_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_links_participant_id'), ['participant_id'],
                              unique=False)
    _merge(op.get_bind())


def _merge(bind) -> None:
    confirmed = _confirmed(bind)
    for pid, at in confirmed.items():
        bind.execute(sa.update(participants).where(participants.c.id == pid)
                     .values(email_confirmed_at=at))
    rows = bind.execute(sa.select(participants).where(
        participants.c.id.in_(list(confirmed)), participants.c.anonymised_at.is_(None),
        participants.c.email != '').order_by(participants.c.id)).mappings().all()
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row['email'].strip().lower()].append(row)
    now = datetime.now(UTC)
    for email, group in groups.items():
        if len(group) < 2:
            continue
        person, newest = group[0], max(group, key=lambda r: (r['created_at'], r['id']))
        merged = [r['id'] for r in group[1:]]
        for row in group:  # what each enrollment was given with, before they share a person
            bind.execute(sa.update(enrollments).where(
                enrollments.c.participant_id == row['id'], enrollments.c.given_details.is_(None))
                .values(given_details={k: row[k] for k in DETAILS}))
        moved = list(bind.execute(sa.select(enrollments.c.id).where(
            enrollments.c.participant_id.in_(merged)).order_by(enrollments.c.id)).scalars())
        for table in (enrollments, erasure_requests, email_changes):
            bind.execute(sa.update(table).where(table.c.participant_id.in_(merged))
                         .values(participant_id=person['id']))
        bind.execute(sa.update(outbox).where(outbox.c.subject_type == 'participant',
                                             outbox.c.subject_id.in_(merged))
                     .values(subject_id=person['id']))
        bind.execute(sa.update(participants).where(participants.c.id == person['id']).values(
            email=email, email_confirmed_at=min(r['email_confirmed_at'] or confirmed[r['id']]
                                                for r in group),
            **{k: newest[k] for k in DETAILS}))
        bind.execute(sa.delete(participants).where(participants.c.id.in_(merged)))
        bind.execute(sa.insert(audit_events).values(
            at=now, actor_id=None, actor_email='system', action='privacy.participants_merged',
            object_type='participant', object_id=person['id'], county_id=None, before=None,
            after={'merged': merged, 'enrollments': moved}, ip_address=''))


def _split(bind) -> None:
    """One participant row per enrollment again."""
    columns = [c for c in participants.c if c.name not in ('id', 'email_confirmed_at')]
    for person in bind.execute(sa.select(participants)).mappings().all():
        own = bind.execute(sa.select(enrollments.c.id, enrollments.c.given_details).where(
            enrollments.c.participant_id == person['id']).order_by(enrollments.c.id)).all()
        for number, (enrollment_id, given) in enumerate(own):
            values = {c.name: person[c.name] for c in columns}
            if given and not person['anonymised_at']:
                values.update({k: given.get(k, values[k]) for k in DETAILS})
            if number == 0:
                bind.execute(sa.update(participants).where(participants.c.id == person['id'])
                             .values(**values))
                continue
            new_id = bind.execute(sa.insert(participants).values(**values)
                                  .returning(participants.c.id)).scalar_one()
            for table in (enrollments, erasure_requests, email_changes):
                key = table.c.id if table is enrollments else table.c.enrollment_id
                bind.execute(sa.update(table).where(key == enrollment_id)
                             .values(participant_id=new_id))


def downgrade() -> None:
    """Revert this migration."""
    bind = op.get_bind()
    _split(bind)
    with op.batch_alter_table('privacy_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_links_participant_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_links_enrollment_id'))
    op.drop_table('privacy_links')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('given_details')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
