"""Alembic: upgrade head gives exactly the models' schema; downgrade base empties it, also on
a populated database; SQLite migrations run with foreign keys off, in one transaction."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core import audit, reminders, staff_sessions, throttle, two_factor
from core.api import tokens as api_tokens
from core.auth import StaffUser, create_staff
from core.cli import alembic_config
from core.db import Base, make_engine, session_scope, utcnow
from core.jobs import queue_job
from core.limits import RateLimitCounter
from core.mail import queue_mail
from core.mail_kinds import record_mail
from core.models import County, Municipality
from core.reminders import SentReminder
from enrollment.demo import seed_demo
from enrollment.models import (
    EmailChange,
    Enrollment,
    EnrollmentStatus,
    MessageAudience,
    Participant,
    PrivacyPurpose,
    Role,
    Roster,
    RosterEntry,
    RosterImport,
    RosterMatch,
)
from enrollment.services import email_change, links, messages, privacy, privacy_links
from refunds.models import Claim, ClaimLine, LineKind, Rate, RateKind
from refunds.services.claims import submit_claim, update_draft
from refunds.services.decisions import approve_claim
from refunds.services.receipts import attach_receipt
from refunds.uploads import CheckedReceipt
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.refunds_factories import (
    IN_WINDOW,
    VALID_ACCOUNT,
    car_leg,
    draft_claim,
    load_rates,
    make_enrollment,
    toll,
)

ROOT = Path(__file__).resolve().parent.parent
# Rows a downgrade deletes on purpose (the revision undone → table → the rows' condition); every
# other row of a table that both revisions have must survive the step.
DELETED_BY_DOWNGRADE = {
    "7b3e9d1c4a26": {"rates": "kind = 'night_supplement'"},
    "9c2e7f4a1b63": {"outbox_messages": "kind IS NOT NULL AND rendered_at IS NULL"},
}
# Rows a downgrade adds on purpose (the revision undone → table → a query counting them).
ADDED_BY_DOWNGRADE = {
    # One participant row per enrollment again: a row for each enrollment of a person but the
    # first.
    "64aba927f732": {"participants": "SELECT count(*) FROM enrollments e WHERE e.id > (SELECT"
                                     " min(f.id) FROM enrollments f WHERE f.participant_id ="
                                     " e.participant_id)"},
}


def _differences(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_head_matches_models_and_downgrade_base_empties(app):
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    assert _differences(url) == []
    assert _tables(url) == set(Base.metadata.tables)

    command.downgrade(alembic_config(url), "base")
    assert _tables(url) == set()

    command.upgrade(alembic_config(url), "head")
    assert _differences(url) == []


def test_cohorts_migration_moves_interns_courses_to_their_turnus_year_and_back(app):
    """Upgrading gives each kind its scheme and puts the interns' courses in the turnus year
    running at their old LIS1 cohort; downgrading puts a cohort back on every offering."""
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    command.downgrade(config, "5e1f0c2a9b11")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        county = conn.execute(sa.text("SELECT id FROM counties ORDER BY id")).scalars().first()
        kinds = dict(conn.execute(sa.text("SELECT code, id FROM course_kinds")).all())
        for number, (code, cohort) in enumerate([("physio_intern_course", "2027-03-01"),
                                                 ("physio_intern_course", "2026-09-01"),
                                                 ("public_health", "2027-03-01")], start=1):
            conn.execute(sa.text(
                "INSERT INTO course_offerings (id, county_id, kind_id, cohort, title_nn, title_nb,"
                " title_en, description_nn, description_nb, description_en, venue, capacity,"
                " seats_taken, enroll_opens_at, enroll_closes_at, requires_approval,"
                " refund_eligible, min_share_percent, status, is_demo, signer_name,"
                " signer_title, created_at, updated_at) VALUES (:id, :county, :kind, :cohort,"
                " '', '', '', '', '', '', '', 10, 0, :t, :t, false, true, 75, 'draft', false,"
                " '', '', :t, :t)"),
                {"id": 900 + number, "county": county, "kind": kinds[code],
                 "cohort": date.fromisoformat(cohort), "t": datetime(2026, 1, 1, 12)})

    command.upgrade(config, "head")
    with engine.begin() as conn:
        schemes = dict(conn.execute(sa.text(
            "SELECT code, cohort_scheme FROM course_kinds")).all())
        assert schemes["physio_intern_course"] == "turnus_year"
        assert schemes["public_health"] == "municipal_start"
        cohorts = dict(conn.execute(sa.text(
            "SELECT id, cohort FROM course_offerings WHERE id > 900")).all())
        assert {k: str(v) for k, v in cohorts.items()} == {
            901: "2026-08-01", 902: "2026-08-01", 903: "2027-03-01"}
        conn.execute(sa.text("UPDATE course_offerings SET cohort = NULL WHERE id = 903"))

    command.downgrade(config, "5e1f0c2a9b11")
    with engine.begin() as conn:
        cohorts = dict(conn.execute(sa.text(
            "SELECT id, cohort FROM course_offerings WHERE id > 900")).all())
        # No sessions: the LIS1 cohort in service when the offering was created.
        assert {k: str(v) for k, v in cohorts.items()} == {
            901: "2026-09-01", 902: "2026-09-01", 903: "2025-09-01"}
        conn.execute(sa.text("DELETE FROM course_offerings WHERE id > 900"))
    engine.dispose()
    command.upgrade(config, "head")


def test_manage_links_migration_keeps_every_mailed_link_working(app, make_offering):
    """Upgrading moves each enrollment's stored hash into a link; downgrading puts back the
    newest working link, and a random hash where every link was withdrawn. On SQLite the
    upgrade recreates ``enrollments``; the links (ON DELETE CASCADE) must survive that."""
    offering = make_offering()
    engine = app.extensions["kp_engine"]
    with session_scope(engine) as session:
        kept, gone = (Enrollment(
            offering_id=offering.id, status=EnrollmentStatus.CONFIRMED,
            participant=Participant(full_name=name, email=f"{name}@example.org", role=Role.LIS1),
        ) for name in ("a", "b"))
        session.add_all([kept, gone])
        session.flush()
        old, newest = links.issue_link(session, kept), links.issue_link(session, kept)
        withdrawn = links.issue_link(session, gone)
        links.withdraw_all_links(session, gone.id, datetime.now(UTC))
        ids = kept.id, gone.id
    url = app.config["DATABASE_URL"]
    engine.dispose()

    command.downgrade(alembic_config(url), "5e1f0c2a9b11")
    plain = sa.create_engine(url)
    with plain.connect() as conn:
        hashes = dict(conn.execute(sa.text(
            "SELECT id, manage_token_hash FROM enrollments")).all())
    assert hashes[ids[0]] == links.hash_token(newest)
    assert hashes[ids[1]] not in {links.hash_token(withdrawn), None}
    assert len(hashes[ids[1]]) == 64

    command.upgrade(alembic_config(url), "head")
    with plain.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT enrollment_id, token_hash, withdrawn_at FROM manage_links")).all()
    plain.dispose()
    assert sorted(rows) == sorted([(ids[0], links.hash_token(newest), None),
                                   (ids[1], hashes[ids[1]], None)])
    assert links.hash_token(old) not in {r[1] for r in rows}
    assert _differences(url) == []


def populate(app, make_offering) -> None:
    """Rows in every table, made as the app makes them: the demo data (offerings, people,
    attendance, certificates), staff signed in with two factors, mail, a deferred job, a change
    of address, an erasure request, a rate-limit window, a reminder sent, a seat offered and an
    offer run out, an approved claim with a receipt and a night supplement, and a message to an
    offering's participants, and an API token."""
    engine = app.extensions["kp_engine"]
    now = utcnow()
    load_rates(app)
    with app.app_context(), session_scope(engine) as session:
        seed_demo(session, now)
        county = session.scalar(sa.select(County).where(County.slug == "vestland"))
        admin = create_staff(session, email="admin@sf.no", name="Ada Admin",
                             password=STAFF_PASSWORD, county=None, is_admin=True)
        staff = create_staff(session, email="kari@sfvl.no", name="Kari Nordmann",
                             password=STAFF_PASSWORD, county=county)
        staff.totp_secret = two_factor.seal(STAFF_TOTP_SECRET, app.config["SECRET_KEY"])
        staff.totp_confirmed_at = now
        two_factor.replace_recovery_codes(session, staff)
        staff_sessions.start(session, staff.id, user_agent="Firefox", address="192.0.2.1")
        api_tokens.create(session, staff, county_id=county.id, name="Økonomi", can_write=True,
                          expires_on=(now + timedelta(days=30)).date(), now=now)
        throttle.record_failure(session, {throttle.account_key("kari@sfvl.no"): throttle.Rule(
            free=1, base=1, cap=60, forget=timedelta(hours=1))})
        audit.record(session, actor=admin, action="staff.created", object_type="staff_user",
                     object_id=staff.id, county_id=county.id)
        first, second = session.scalars(
            sa.select(Enrollment).where(Enrollment.status == EnrollmentStatus.CONFIRMED)
            .order_by(Enrollment.id).limit(2))
        queue_mail(session, to=first.participant.email, subject="Stadfesting", text="Hei",
                   locale="nn", about=("participant", first.participant_id))
        record_mail(session, "test.reminder", to=first.participant.email, locale="nn",
                    about=("participant", first.participant_id), enrollment_id=first.id)
        queue_job(session, "lost_link", {"email": second.participant.email})
        messages.send(session, first.offering, subject="Praktisk", body="Ta med matpakke.",
                      audience=MessageAudience.ALL, actor=staff, now=now)
        email_change.request_change(session, first, "ny@example.no", now, timedelta(days=1))
        privacy.request_erasure(session, second, now)
        # One person behind two enrollments: the first's address confirmed through a privacy
        # link, then a second enrollment with it, merged when its own link is opened.
        privacy_links.use(session, privacy_links.ask(session, first, PrivacyPurpose.EXPORT, now),
                          now)
        again = Enrollment(offering_id=second.offering_id, status=EnrollmentStatus.CANCELLED,
                           participant=Participant(full_name="Ny Namn",
                                                   email=first.participant.email,
                                                   role=first.participant.role))
        session.add(again)
        session.flush()
        privacy_links.use(session, privacy_links.ask(session, again, PrivacyPurpose.EXPORT, now),
                          now)
        session.add(RateLimitCounter(key="enroll/1", hits=3, expires_at=time.time() + 60))
        # A cohort roster with one person, its import, a match chosen by hand, and a reminder
        # claimed as sent.
        municipality = session.scalar(sa.select(Municipality)
                                      .where(Municipality.county_id == county.id).limit(1))
        roster = Roster(county_id=county.id, role=Role.LIS1, cohort=date(2026, 3, 1))
        entry = RosterEntry(roster=roster, full_name="Ola Rad", email="ola.rad@example.no",
                            hpr_number="1234567", municipality=municipality,
                            start_date=date(2026, 3, 1))
        session.add_all([roster, entry])
        session.flush()
        session.add_all([
            RosterImport(county_id=county.id, role=Role.LIS1, cohort=date(2026, 3, 1),
                         filename="kull.csv", sha256="0" * 64, rows=[], roster_id=roster.id,
                         created_by_id=staff.id),
            RosterMatch(roster_id=roster.id, enrollment_id=first.id, entry_id=entry.id,
                        chosen_by_id=staff.id),
            SentReminder(kind="enrollment.course_reminder", subject_id=first.id,
                         event_key="first-session:2026-03-02T08:00", sent_at=now)])
        reminders.claim(session, "enrollment.course_reminder", first.id, "first-session:x", now)
        # A seat offered from the waiting list, and an offer that ran out (the downgrade makes
        # them the confirmed seat and the withdrawal they come to).
        offered, expired = session.scalars(
            sa.select(Enrollment).where(Enrollment.status == EnrollmentStatus.WAITLISTED)
            .order_by(Enrollment.id).limit(2))
        offered.offering.offer_hours = 48
        offered.status, offered.offer_expires_at = EnrollmentStatus.OFFERED, now
        expired.status, expired.offer_expires_at = EnrollmentStatus.OFFER_EXPIRED, now
        staff_id = staff.id

    claim_id = draft_claim(app, make_enrollment(app, make_offering))
    data = b"%PDF-1.4 a receipt"
    digest = hashlib.sha256(data).hexdigest()
    with app.app_context(), session_scope(engine) as session:
        receipt = attach_receipt(session, claim_id, CheckedReceipt(
            data, "application/pdf", digest, digest, len(data), "bom.pdf"), now=IN_WINDOW)
        update_draft(session, claim_id, lines=[car_leg(), toll(receipt_id=receipt.id)],
                              bank_account=VALID_ACCOUNT, comment="", now=IN_WINDOW)
        submit_claim(session, claim_id, now=IN_WINDOW)
        approve_claim(session, claim_id, actor=session.get(StaffUser, staff_id),
                               now=IN_WINDOW, own_car_approved=True)
        # A night supplement as the calculation stores one (its rate only covers 2022-2024,
        # so it is written here rather than claimed through the form).
        claim = session.get(Claim, claim_id)
        rate = session.scalar(sa.select(Rate).where(Rate.kind == RateKind.NIGHT_SUPPLEMENT))
        session.add(ClaimLine(claim=claim, position=2, kind=LineKind.NIGHT_SUPPLEMENT,
                              travel_date=IN_WINDOW.date(), amount_ore=rate.amount_ore,
                              rate_id=rate.id, rate_ore=rate.amount_ore))
        claim.total_ore += rate.amount_ore
        claim.approved_total_ore += rate.amount_ore


def _counts(url: str) -> dict[str, int]:
    """Rows per table (Alembic's own left out)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        counts = {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"'))  # noqa: S608
                  for name in names}
    engine.dispose()
    return counts


def _scalar(url: str, sql: str):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(sa.text(sql))
    engine.dispose()
    return value


def test_a_populated_database_steps_down_to_base_keeping_its_rows_and_back_up(app, make_offering):
    """Each downgrade, undone one at a time on a database with rows in every table, keeps the
    rows of every table the older schema still has (but those it deletes on purpose), claims'
    lines keep adding up to what was approved, and ``upgrade head`` then gives the models'
    schema again."""
    populate(app, make_offering)
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    counts = _counts(url)
    assert set(counts) == set(Base.metadata.tables)
    assert [name for name, rows in counts.items() if rows == 0] == []

    for script in ScriptDirectory.from_config(config).walk_revisions():
        deleted = {table: _scalar(url, f"SELECT count(*) FROM {table} WHERE {where}")  # noqa: S608
                   for table, where in DELETED_BY_DOWNGRADE.get(script.revision, {}).items()}
        added = {table: _scalar(url, sql)
                 for table, sql in ADDED_BY_DOWNGRADE.get(script.revision, {}).items()}
        command.downgrade(config, "-1")
        after = _counts(url)
        assert after == {name: counts[name] - deleted.get(name, 0) + added.get(name, 0)
                         for name in after if name in counts} | {
            name: rows for name, rows in after.items() if name not in counts}, script.revision
        if "claim_lines" in after:
            assert _scalar(url, "SELECT count(*) FROM claims WHERE total_ore <> (SELECT"
                                " sum(amount_ore) FROM claim_lines WHERE claim_id = claims.id)"
                           ) == 0, script.revision
        counts = after
    assert counts == {}

    command.upgrade(config, "head")
    assert _differences(url) == []


def test_rows_survive_a_downgrade_to_the_revision_before_head_and_back(app, make_offering):
    populate(app, make_offering)
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    at_head = _counts(url)
    head = ScriptDirectory.from_config(config).get_current_head()
    added = {table: _scalar(url, sql)
             for table, sql in ADDED_BY_DOWNGRADE.get(head, {}).items()}

    command.downgrade(config, "-1")
    before_head = _counts(url)
    command.upgrade(config, "head")
    back = _counts(url)

    for name in ("counties", "course_offerings", "participants", "enrollments", "attendances",
                 "certificates", "claims", "claim_lines", "receipts", "staff_users"):
        assert at_head[name] + added.get(name, 0) == before_head[name] == back[name] > 0, name
    assert {name: back[name] for name in before_head} == before_head
    assert _differences(url) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_flask_db_downgrade_base_empties_a_populated_sqlite_file_and_upgrade_fills_it(
        app, make_offering):
    """Through the command line, as an operator runs it, on a file whose rows refer to one
    another and which the app's own connections open with foreign keys on."""
    populate(app, make_offering)
    url = app.config["DATABASE_URL"]
    with app.extensions["kp_engine"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    app.extensions["kp_engine"].dispose()
    env = {**os.environ, "FLASK_DATABASE_URL": url, "FLASK_SECRET_KEY": "m" * 32,
           "FLASK_PUBLIC_BASE_URL": "https://kurs.example.no"}

    def flask(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert "Database downgraded to base." in flask("downgrade", "base")
    assert _counts(url) == {}
    assert "Database upgraded to head." in flask("upgrade")
    assert _differences(url) == []


def _dangling_attendance(path: str) -> None:
    """An attendance of an enrollment that does not exist (written with foreign keys off)."""
    conn = sqlite3.connect(path)
    session_id = conn.execute("SELECT min(id) FROM course_sessions").fetchone()[0]
    conn.execute("INSERT INTO attendances (enrollment_id, session_id, present, marked_at)"
                 " VALUES (999999, ?, 1, '2026-01-05 09:00:00')", (session_id,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_migration_run_ending_with_a_dangling_reference_is_rolled_back_whole(
        app, make_offering):
    """``PRAGMA foreign_key_check`` runs before the run's one commit: the database stays at the
    revision it had, none of the run's migrations half applied."""
    populate(app, make_offering)
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    config = alembic_config(url)
    command.downgrade(config, "-2")
    revision = _scalar(url, "SELECT version_num FROM alembic_version")
    before = _counts(url)
    _dangling_attendance(sa.engine.make_url(url).database)

    with pytest.raises(RuntimeError, match="migration broke foreign keys"):
        command.upgrade(config, "head")
    assert _scalar(url, "SELECT version_num FROM alembic_version") == revision
    assert _counts(url) == {**before, "attendances": before["attendances"] + 1}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_migrations_give_a_callers_sqlite_connection_back_with_foreign_keys_on(app):
    url = app.config["DATABASE_URL"]
    app.extensions["kp_engine"].dispose()
    engine = make_engine(url)
    config = alembic_config(url)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")
        command.upgrade(config, "head")
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # Inside a transaction SQLite would ignore the pragma: refused, not run with keys on.
        conn.exec_driver_sql("SELECT 1")
        with pytest.raises(RuntimeError, match="outside a transaction"):
            command.downgrade(config, "-1")
    engine.dispose()
    assert _differences(url) == []


def test_one_person_migration_merges_confirmed_duplicates_and_downgrade_splits_them(
        app, make_offering):
    """Rows of one normalised address whose holder used a mailed link (a request for erasure,
    a confirmed change to the address) become one person with both enrollments, their mail
    and requests; an unconfirmed row of the same address stays apart. Downgrading gives each
    enrollment its row again, with the details given with it."""
    now = utcnow()
    first, second, third = (make_enrollment(app, make_offering, email=email, name=name)
                            for email, name in (("Dup@Example.no", "Dag Dup"),
                                                ("dup@example.no", "Dag Dupsen"),
                                                ("dup@example.no", "Stranger")))
    engine = app.extensions["kp_engine"]
    with app.app_context(), session_scope(engine) as session:
        a, b, c = (session.get(Enrollment, i) for i in (first, second, third))
        privacy.request_erasure(session, a, now)
        change = email_change.request_change(session, b, "dup@example.no", now,
                                             timedelta(days=1))
        assert change is None  # the same address: recorded directly below as confirmed
        session.add(EmailChange(participant_id=b.participant_id, enrollment_id=b.id,
                                new_email="dup@example.no", confirm_hash="c" * 64,
                                cancel_hash="d" * 64, created_at=now, expires_at=now,
                                confirmed_at=now))
        queue_mail(session, to="dup@example.no", subject="Til Dag", text="Hei", locale="nn",
                   about=("participant", b.participant_id))
        ids = a.participant_id, b.participant_id, c.participant_id
    url = app.config["DATABASE_URL"]
    engine.dispose()
    config = alembic_config(url)
    command.downgrade(config, "9c2e7f4a1b63")

    command.upgrade(config, "64aba927f732")
    plain = sa.create_engine(url)
    with plain.connect() as conn:
        owners = dict(conn.execute(sa.text("SELECT id, participant_id FROM enrollments")).all())
        people = {row.id: row for row in conn.execute(sa.text(
            "SELECT id, full_name, email, email_confirmed_at FROM participants"))}
        mail_about = conn.scalar(sa.text(
            "SELECT subject_id FROM outbox_messages WHERE subject = 'Til Dag'"))
        change_of = conn.scalar(sa.text("SELECT participant_id FROM email_changes"))
        merged = conn.execute(sa.text("SELECT object_id, after FROM audit_events"
                                      " WHERE action = 'privacy.participants_merged'")).all()
    assert owners[first] == owners[second] == ids[0]
    assert owners[third] == ids[2]
    assert set(people) == {ids[0], ids[2]}
    assert (people[ids[0]].full_name, people[ids[0]].email) == ("Dag Dupsen", "dup@example.no")
    assert people[ids[0]].email_confirmed_at is not None
    assert people[ids[2]].email_confirmed_at is None
    assert mail_about == change_of == ids[0]
    assert [m[0] for m in merged] == [ids[0]]

    command.downgrade(config, "9c2e7f4a1b63")
    with plain.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.id, p.full_name, p.email FROM enrollments e"
            " JOIN participants p ON p.id = e.participant_id")).all()
        split_owners = dict(conn.execute(sa.text(
            "SELECT id, participant_id FROM enrollments")).all())
    assert {r.id: r.full_name for r in rows if r.id in (first, second, third)} == {
        first: "Dag Dup", second: "Dag Dupsen", third: "Stranger"}
    assert len({split_owners[first], split_owners[second], split_owners[third]}) == 3
    command.upgrade(config, "head")
    plain.dispose()
    assert _differences(url) == []
