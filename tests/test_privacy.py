"""Privacy: the retention purge (dry run and real run), the per-person export, erasure requests
confirmed by staff, the per-office privacy page, and an audit log no route can change.

The seeded world: a course on 5–6 January 2026 in Vestland with Åse (a paid claim with a
receipt, a certificate, mail) and Bjørn (a rejected claim with a receipt, mail), and a course in
February 2027 with Cecilie. With 12 months' retention, ``--as-of 2027-03-01`` makes Åse and
Bjørn due; Åse's paid claim (paid 15 February 2026) is kept until 31 December 2031.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from certificates import services as certificate_service
from certificates.models import Certificate
from core.audit import AuditEvent
from core.cli import load_counties
from core.db import Base, session_scope
from core.mail import MailStatus, OutboxMessage, queue_mail
from enrollment.cli import load_kinds
from enrollment.models import (
    Attendance,
    Enrollment,
    ErasureRequest,
    ErasureStatus,
    ManageLink,
    Participant,
    PrivacyLink,
)
from enrollment.services import links, privacy
from refunds.models import Claim, ClaimLine, Receipt
from refunds.services.claims import submit_claim, update_draft
from refunds.services.decisions import approve_claim, mark_paid, reject_claim
from refunds.services.receipts import attach_receipt
from refunds.uploads import read_receipt
from tests.refunds_factories import (
    FIRST_DAY,
    IN_WINDOW,
    car_leg,
    draft_claim,
    engine_of,
    load_rates,
    make_enrollment,
    staff_user,
    toll,
)
from tests.test_refunds_uploads import png
from tests.test_staff_scoping import build_world, logged_in, plausible_form

PAID_ON = date(2026, 2, 15)
AS_OF = "2027-03-01"


@dataclass
class Seeded:
    """Ids and tokens of the seeded people."""

    ase: int
    bjorn: int
    cecilie: int
    ase_enrollment: int
    bjorn_enrollment: int
    ase_token: str
    bjorn_token: str
    ase_claim: int
    bjorn_claim: int
    certificate_code: str


def _details(app, enrollment_id: int, *, phone: str, hpr: str, employer: str,
             needs: str) -> tuple[int, str]:
    """Fill in the details the factory leaves out; returns (participant id, manage token)."""
    with session_scope(engine_of(app)) as session:
        enrollment = session.get(Enrollment, enrollment_id)
        person = enrollment.participant
        person.phone, person.hpr_number, person.employer = phone, hpr, employer
        person.created_at = datetime(2025, 12, 1, tzinfo=UTC)
        enrollment.needs = needs
        return person.id, links.issue_link(session, enrollment)


def _claim_with_receipt(app, enrollment_id: int, name: str) -> tuple[int, int]:
    claim_id = draft_claim(app, enrollment_id)
    checked = read_receipt(io.BytesIO(png()), name)
    with app.app_context(), session_scope(engine_of(app)) as session:
        receipt = attach_receipt(session, claim_id, checked, now=IN_WINDOW)
        update_draft(session, claim_id, lines=[car_leg(), toll(
            receipt_id=receipt.id)], bank_account="86011117947", comment=f"{name} comment",
            now=IN_WINDOW)
        submit_claim(session, claim_id, now=IN_WINDOW)
        return claim_id, receipt.id


def _mail(app, to: str, text: str, sent: bool = True, person: int | None = None) -> None:
    with session_scope(engine_of(app)) as session:
        message = queue_mail(session, to=to, subject="Kurs", text=text, locale="nn",
                             about=("participant", person) if person else None)
        message.created_at = datetime(2026, 1, 2, tzinfo=UTC)
        if sent:
            message.status = MailStatus.SENT


def seed(app, make_offering, make_staff) -> Seeded:
    """Two people on an old course (one paid, one rejected claim) and one on a new course."""
    load_rates(app)
    staff_id = make_staff(email="kari@sfvl.no", county="vestland")
    staff = staff_user(app, staff_id)
    old = make_offering(first_day=FIRST_DAY, title_en="Old course")
    new = make_offering(first_day=datetime(2027, 2, 1, tzinfo=UTC), title_en="New course")
    ase_e = make_enrollment(app, make_offering, offering_id=old.id, name="Åse Askeladd",
                            email="ase@example.no")
    bjorn_e = make_enrollment(app, make_offering, offering_id=old.id, name="Bjørn Bakke",
                              email="bjorn@example.no")
    cecilie_e = make_enrollment(app, make_offering, offering_id=new.id, name="Cecilie Ceder",
                                email="cecilie@example.no")
    ase, ase_token = _details(app, ase_e, phone="41111111", hpr="1111111",
                              employer="Askøy kommune", needs="Åse needs gluten-free food")
    bjorn, bjorn_token = _details(app, bjorn_e, phone="42222222", hpr="2222222",
                                  employer="Bømlo kommune", needs="Bjørn needs a ramp")
    cecilie, _t = _details(app, cecilie_e, phone="43333333", hpr="3333333",
                           employer="Cecilie kommune", needs="Cecilie needs quiet")
    ase_claim, _r = _claim_with_receipt(app, ase_e, "ase-kvittering.png")
    bjorn_claim, _r = _claim_with_receipt(app, bjorn_e, "bjorn-kvittering.png")
    with app.app_context(), session_scope(engine_of(app)) as session:
        approve_claim(session, ase_claim, actor=staff, now=IN_WINDOW)
        mark_paid(session, [ase_claim], actor=staff, payment_date=PAID_ON,
                                  now=IN_WINDOW)
        reject_claim(session, bjorn_claim, "Bjørn came by bus", actor=staff,
                                     now=IN_WINDOW)
        # make_enrollment marked Åse and Bjørn present at every day of the old course (a claim
        # is submitted only after a session attended); the new course has not begun.
        certificate, _again = certificate_service.issue_by_hand(
            session, ase_e, "Attended", actor=staff, now=IN_WINDOW)
        code = certificate.code
        # The services recorded the claim mails (refunds.mail, unsent); the mail these tests
        # follow is the seed's own (``_mail``), sent months ago.
        session.execute(sa.delete(OutboxMessage).where(OutboxMessage.kind.like("refunds.%")))
    _mail(app, "ase@example.no", f"Hei Åse, sjå https://kurs.example/manage/{ase_token}",
          person=ase)
    _mail(app, "bjorn@example.no", "Hei Bjørn", person=bjorn)
    _mail(app, "cecilie@example.no", "Hei Cecilie", person=cecilie)
    return Seeded(ase, bjorn, cecilie, ase_e, bjorn_e, ase_token, bjorn_token, ase_claim,
                  bjorn_claim, code)


@pytest.fixture
def seeded(app, make_offering, make_staff) -> Seeded:
    return seed(app, make_offering, make_staff)


PRIVACY_LINK = re.compile(r"/personal-data/([A-Za-z0-9_\-]+)")


def mailed_privacy_link(app, to: str) -> str:
    """The newest privacy link mailed to ``to`` (the mail is rendered after the request)."""
    with session_scope(engine_of(app)) as session:
        bodies = session.scalars(sa.select(OutboxMessage.body_text).where(
            OutboxMessage.to_address == to).order_by(OutboxMessage.id.desc())).all()
    for body in bodies:
        found = PRIVACY_LINK.search(body or "")
        if found:
            return found.group(0)
    raise AssertionError(f"no privacy link mailed to {to}")


def export_by_mail(app, client, token: str, to: str):
    """Ask for the export on the manage link, then open the link mailed to ``to``."""
    asked = client.post(f"/manage/{token}/my-data")
    assert asked.status_code == 302
    url = mailed_privacy_link(app, to)
    assert client.get(url).status_code == 200  # the question only
    return client.post(url)


def erasure_by_mail(app, client, token: str, to: str):
    """Ask for erasure on the manage link, then open the link mailed to ``to``."""
    assert client.post(f"/manage/{token}/erasure").status_code == 302
    return client.post(mailed_privacy_link(app, to))


def audit_rows(app) -> dict[int, str]:
    with engine_of(app).connect() as conn:
        return {row.id: repr(tuple(row)) for row in conn.execute(sa.select(AuditEvent.__table__))}


def table_state(app) -> dict[str, list]:
    with engine_of(app).connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(sa.select(t)))
                for t in Base.metadata.sorted_tables}


# --- the purge ---------------------------------------------------------------------------------


def test_purge_dry_run_prints_what_would_go_and_changes_nothing(app, seeded, runner):
    before = table_state(app)

    result = runner.invoke(args=["privacy", "purge", "--dry-run", "--as-of", AS_OF])

    assert result.exit_code == 0, result.output
    out = result.output
    assert "Courses that ended before 2026-03-01 are due" in out
    assert "2 participant(s) to check" in out
    assert (f"Would anonymise participant {seeded.bjorn}: claims 1, enrollments 1, "
            "outbox_messages deleted 1, participants 1, receipts deleted 1") in out
    assert f"Would anonymise participant {seeded.ase}: certificates 1, enrollments 1, " \
           "outbox_messages deleted 1, participants 1; RR-2026-" in out
    assert "kept until 2031-12-31" in out
    assert f"participant {seeded.cecilie}" not in out
    assert "2 participant(s) would be anonymised (certificates 1, claims 1, enrollments 2, " \
           "outbox_messages deleted 2, participants 2, receipts deleted 1); 0 kept by law." in out
    assert "Dry run: nothing was changed." in out
    assert table_state(app) == before


def test_purge_anonymises_keeps_what_law_and_statistics_need(app, seeded, runner, client):
    audit_before = audit_rows(app)

    result = runner.invoke(args=["privacy", "purge", "--as-of", AS_OF])

    assert result.exit_code == 0, result.output
    assert "2 participant(s) anonymised" in result.output
    with session_scope(engine_of(app)) as session:
        bjorn, ase, cecilie = (session.get(Participant, i)
                               for i in (seeded.bjorn, seeded.ase, seeded.cecilie))
        assert (bjorn.full_name, bjorn.email, bjorn.phone, bjorn.hpr_number, bjorn.employer) \
            == ("", "", "", None, "")
        assert bjorn.anonymised_at is not None
        assert bjorn.role.value == "lis1"
        # Åse's paid claim is bookkeeping documentation until 2031: her name stays, the rest goes.
        assert (ase.full_name, ase.email, ase.phone, ase.hpr_number, ase.employer) \
            == ("Åse Askeladd", "", "", None, "")
        assert (cecilie.full_name, cecilie.email, cecilie.hpr_number) \
            == ("Cecilie Ceder", "cecilie@example.no", "3333333")
        assert session.get(Enrollment, seeded.bjorn_enrollment).needs == ""
        assert session.get(Enrollment, seeded.ase_enrollment).needs == ""
        bjorn_claim = session.get(Claim, seeded.bjorn_claim)
        assert (bjorn_claim.bank_account, bjorn_claim.comment, bjorn_claim.reason) == ("", "", "")
        assert bjorn_claim.total_ore > 0
        assert bjorn_claim.reference.startswith("RR-2026-")
        assert all(line.from_place == "" and line.receipt_id is None for line in
                   session.scalars(sa.select(ClaimLine).where(
                       ClaimLine.claim_id == seeded.bjorn_claim)))
        ase_claim = session.get(Claim, seeded.ase_claim)
        assert (ase_claim.bank_account, ase_claim.payment_date) == ("86011117947", PAID_ON)
        receipts = session.scalars(sa.select(Receipt.claim_id)).all()
        assert receipts == [seeded.ase_claim]
        certificate = session.scalar(sa.select(Certificate))
        assert certificate.snapshot["name"] == "Åse Askeladd"
        assert certificate.snapshot["hpr_number"] == ""
        assert certificate.revoked_at is None
        assert session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 4
        assert session.scalars(sa.select(OutboxMessage.to_address)).all() \
            == ["cecilie@example.no"]
    assert audit_rows(app).items() >= audit_before.items()
    assert client.get(f"/manage/{seeded.bjorn_token}").status_code == 404
    assert "Åse Askeladd" in client.get(f"/verify/{seeded.certificate_code}").get_data(True)

    again = runner.invoke(args=["privacy", "purge", "--as-of", AS_OF])
    assert "0 participant(s) anonymised (nothing); 1 kept by law." in again.output
    assert f"Kept participant {seeded.ase}: RR-2026-" in again.output

    later = runner.invoke(args=["privacy", "purge", "--as-of", "2032-01-02"])
    assert f"Anonymised participant {seeded.ase}: claims 1, participants 1, receipts " \
           "deleted 1" in later.output
    with session_scope(engine_of(app)) as session:
        assert session.get(Participant, seeded.ase).full_name == ""
        assert session.get(Claim, seeded.ase_claim).bank_account == ""
        assert session.get(Claim, seeded.ase_claim).total_ore > 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 0
        # Still verifiable: the purge keeps the certificate's name, only erasure removes it.
        assert session.scalar(sa.select(Certificate)).snapshot["name"] == "Åse Askeladd"
        # By 2032 Cecilie's course of February 2027 is past its retention too.
        assert session.get(Participant, seeded.cecilie).full_name == ""
    assert f"Anonymised participant {seeded.cecilie}:" in later.output


def test_retention_periods_come_from_the_configuration(app_config, make_offering, make_staff):
    app_config.update(PRIVACY_RETENTION_MONTHS=24, PRIVACY_PAID_CLAIM_RETENTION_YEARS=1)
    app = create_app(app_config)
    with session_scope(engine_of(app)) as session:
        load_counties(session)
        load_kinds(session)
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--dry-run",
                                                "--as-of", AS_OF])
    assert "Courses that ended before 2025-03-01 are due (24 months; paid claims 1 years" \
        in result.output
    app.extensions["kp_engine"].dispose()


# --- the export --------------------------------------------------------------------------------


def _tables_about_people() -> set[str]:
    """Every table with a foreign-key path to participants (plus mail and audit)."""
    found = {"participants"}
    while True:
        more = {t.name for t in Base.metadata.sorted_tables if t.name not in found
                and any(fk.column.table.name in found for fk in t.foreign_keys)}
        if not more:
            # Roster entries and the lines of uploaded roster files name people by HPR number
            # and address, not by a key.
            return found | {"outbox_messages", "audit_events", "roster_entries",
                            "roster_imports"}
        found |= more


def _ids(app, stmt) -> set:
    with engine_of(app).connect() as conn:
        return set(conn.execute(stmt).scalars())


def test_export_holds_every_row_about_the_person_and_nothing_else(app, seeded, client):
    response = export_by_mail(app, client, seeded.ase_token, "ase@example.no")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    document = json.loads(response.get_data(as_text=True))
    tables = document["tables"]
    assert document["person_id"] == seeded.ase
    assert set(tables) == _tables_about_people()
    e_ids = {seeded.ase_enrollment}
    expected = {
        "participants": {seeded.ase},
        "enrollments": e_ids,
        "certificates": _ids(app, sa.select(Certificate.id).where(
            Certificate.enrollment_id.in_(e_ids))),
        "claims": {seeded.ase_claim},
        "claim_lines": _ids(app, sa.select(ClaimLine.id).where(
            ClaimLine.claim_id == seeded.ase_claim)),
        "receipts": _ids(app, sa.select(Receipt.id).where(Receipt.claim_id == seeded.ase_claim)),
        "outbox_messages": _ids(app, sa.select(OutboxMessage.id).where(
            OutboxMessage.subject_type == "participant", OutboxMessage.subject_id == seeded.ase)),
        "erasure_requests": set(),
        "privacy_links": _ids(app, sa.select(PrivacyLink.id)),
        "manage_links": _ids(app, sa.select(ManageLink.id).where(
            ManageLink.enrollment_id == seeded.ase_enrollment)),
        "audit_events": _ids(app, sa.select(AuditEvent.id).where(sa.or_(
            sa.and_(AuditEvent.object_type == "claim",
                    AuditEvent.object_id == seeded.ase_claim),
            sa.and_(AuditEvent.object_type == "certificate",
                    AuditEvent.object_id.in_(sa.select(Certificate.id))),
        ))),
    }
    for table, ids in expected.items():
        assert {row["id"] for row in tables[table]} == ids, table
    assert len(expected["claim_lines"]) == 2
    assert len(expected["audit_events"]) == 3
    assert [(a["enrollment_id"], a["present"]) for a in tables["attendances"]] \
        == [(seeded.ase_enrollment, True)] * 2
    person = tables["participants"][0]
    assert (person["full_name"], person["phone"], person["hpr_number"], person["employer"]) \
        == ("Åse Askeladd", "41111111", "1111111", "Askøy kommune")
    assert tables["enrollments"][0]["needs"] == "Åse needs gluten-free food"
    assert "manage_token_hash" not in tables["enrollments"][0]
    # When each link was made and withdrawn, never the hash that opens the enrollment.
    assert len(tables["manage_links"]) == 2
    assert all(set(link) == {"id", "enrollment_id", "created_at", "withdrawn_at"}
               for link in tables["manage_links"])
    assert tables["claims"][0]["bank_account"] == "86011117947"
    receipt = tables["receipts"][0]
    assert "data" not in receipt
    assert len(receipt["sha256"]) == 64
    assert receipt["original_name"] == "ase-kvittering.png"
    mail = tables["outbox_messages"][0]
    assert "/manage/[removed]" in mail["body_text"]
    assert seeded.ase_token not in mail["body_text"]
    assert all("ip_address" not in e and "actor_email" not in e for e in tables["audit_events"])
    text = json.dumps(document, ensure_ascii=False)
    for other in ("Bjørn", "bjorn@example.no", "2222222", "Bømlo", "Cecilie", "3333333",
                  "bjorn-kvittering", "came by bus", "kari@sfvl.no"):
        assert other not in text, other


def test_export_needs_a_valid_manage_link_and_a_valid_mailed_link(app, client, seeded):
    assert client.get("/manage/not-a-token/my-data").status_code == 404
    assert client.post("/manage/not-a-token/my-data").status_code == 404
    assert client.get(f"/personal-data/{seeded.ase_token}").status_code == 404
    assert export_by_mail(app, client, seeded.ase_token, "ase@example.no").status_code == 200
    # The mailed link works once.
    url = mailed_privacy_link(app, "ase@example.no")
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


# --- erasure -----------------------------------------------------------------------------------


def test_participant_asks_for_erasure_and_staff_of_the_county_confirm(
        app, seeded, client, make_staff):
    client.get("/lang/en")
    page = client.get(f"/manage/{seeded.ase_token}")
    assert f"/manage/{seeded.ase_token}/erasure" in page.get_data(as_text=True)
    ask = client.get(f"/manage/{seeded.ase_token}/erasure")
    assert ask.status_code == 200
    assert "bookkeeping rules require" in ask.get_data(as_text=True)

    assert client.post(f"/manage/{seeded.ase_token}/erasure").status_code == 302
    with session_scope(engine_of(app)) as session:  # only a mailed link files the request
        assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 0
    sent = client.post(mailed_privacy_link(app, "ase@example.no"))
    assert sent.status_code == 200
    assert "Your request for erasure is sent" in sent.get_data(as_text=True)
    assert erasure_by_mail(app, client, seeded.ase_token, "ase@example.no").status_code == 200
    with session_scope(engine_of(app)) as session:
        (request,) = session.scalars(sa.select(ErasureRequest)).all()
        assert (request.participant_id, request.status) == (seeded.ase, ErasureStatus.PENDING)
        requested = session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "privacy.erasure_requested"))
        assert (requested.object_id, requested.actor_email) == (seeded.ase, "participant")
    assert "You asked for erasure" in client.get(f"/manage/{seeded.ase_token}").get_data(True)

    make_staff(email="rolf@sfro.no", county="rogaland")
    rogaland = logged_in(app, "rolf@sfro.no")
    assert "Åse" not in rogaland.get("/staff/privacy/erasure-requests").get_data(True)
    url = f"/staff/privacy/participants/{seeded.ase}/erasure"
    assert rogaland.get(url).status_code == 404
    assert rogaland.post(url).status_code == 404

    vestland = logged_in(app, "kari@sfvl.no")
    listing = vestland.get("/staff/privacy/erasure-requests").get_data(as_text=True)
    assert "Åse Askeladd" in listing
    assert url in listing
    confirm = vestland.get(url).get_data(as_text=True)
    assert "31 December 2031" in confirm
    assert "RR-2026-" in confirm
    done = vestland.post(url)
    assert done.status_code == 302

    with session_scope(engine_of(app)) as session:
        person = session.get(Participant, seeded.ase)
        assert (person.full_name, person.email, person.hpr_number) == ("Åse Askeladd", "", None)
        certificate = session.scalar(sa.select(Certificate))
        assert certificate.snapshot["name"] == ""
        assert certificate.revoked_at is not None
        assert session.get(Claim, seeded.ase_claim).bank_account == "86011117947"
        assert session.scalar(sa.select(ErasureRequest)).status == ErasureStatus.CONFIRMED
        event = session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "privacy.erasure_confirmed"))
        assert event.actor_email == "kari@sfvl.no"
        assert event.object_id == seeded.ase
        assert event.after["kept"][0]["until"] == "2031-12-31"
        assert event.after["changed"]["certificates"] == 1
        # Every link to the enrollment stops working, not only the one the person used.
        withdrawn = session.scalars(sa.select(ManageLink.withdrawn_at).where(
            ManageLink.enrollment_id == seeded.ase_enrollment)).all()
        assert len(withdrawn) == 2
        assert None not in withdrawn
    verify = client.get(f"/verify/{seeded.certificate_code}").get_data(as_text=True)
    assert "revoked" in verify
    assert "Åse" not in verify
    assert client.get(f"/manage/{seeded.ase_token}").status_code == 404
    assert "Åse" not in vestland.get("/staff/privacy/erasure-requests").get_data(True)


def test_erasure_without_a_hold_erases_the_name_too(app, seeded, client, login):
    erasure_by_mail(app, client, seeded.bjorn_token, "bjorn@example.no")
    login("kari@sfvl.no")
    assert client.post(f"/staff/privacy/participants/{seeded.bjorn}/erasure").status_code == 302
    with session_scope(engine_of(app)) as session:
        assert session.get(Participant, seeded.bjorn).full_name == ""
        assert session.scalar(sa.select(sa.func.count()).select_from(Receipt).where(
            Receipt.claim_id == seeded.bjorn_claim)) == 0


def test_erasure_forms_need_the_csrf_token(app_config, make_offering):
    app_config["WTF_CSRF_ENABLED"] = True
    app = create_app(app_config)
    with session_scope(engine_of(app)) as session:
        load_counties(session)
        load_kinds(session)
    enrollment_id = make_enrollment(app, make_offering)
    with session_scope(engine_of(app)) as session:
        token = links.issue_link(session, session.get(Enrollment, enrollment_id))
    assert app.test_client().post(f"/manage/{token}/erasure").status_code == 400
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ErasureRequest)) == 0
    app.extensions["kp_engine"].dispose()


# --- the privacy page --------------------------------------------------------------------------


def _main(response) -> str:
    body = response.get_data(as_text=True)
    return body[body.index("<main"):body.index("</main>")]


def test_privacy_page_per_office_with_configured_texts(app, client):
    app.config["PRIVACY_RETENTION_MONTHS"] = 18
    app.config["PRIVACY_OFFICES"] = {"vestland": {
        "contact": {"en": "Data protection officer: dpo@sfvl.no"},
        "retention": {"nn": "Vestland-tekst", "en": "Vestland keeps sign-in sheets 3 years."}}}
    client.get("/lang/en")

    # The notice itself (every page's footer lists all the offices).
    one = _main(client.get("/privacy?county=vestland"))
    everyone = _main(client.get("/privacy"))

    assert "Data protection officer: dpo@sfvl.no" in one
    assert "Vestland keeps sign-in sheets 3 years." in one
    assert "Vestland-tekst" not in one
    assert "anonymised 18 months after" in one
    assert "5 years after" in one
    assert "sfro" not in one
    assert "Rogaland" not in one
    assert "Rogaland" in everyone
    assert "Vestland keeps sign-in sheets" not in everyone
    assert client.get("/privacy?county=atlantis").status_code == 404


# --- the audit log -----------------------------------------------------------------------------


def test_no_route_changes_or_deletes_audit_events(app, make_offering, make_staff):
    world = build_world(app, make_offering, make_staff)
    with session_scope(engine_of(app)) as session:
        pending = session.get(Enrollment, world.values["enrollment_id"])
        privacy.request_erasure(session, pending, datetime.now(UTC))
        code = session.scalar(sa.select(Certificate.code))
    before = audit_rows(app)
    assert len(before) == 3
    values = {**world.values, "token": world.manage_token, "code": code,
              "filename": "style.css"}
    clients = {"admin": logged_in(app, "admin@sf.no"), "vestland": logged_in(app, "vera@sfvl.no"),
               "anonymous": app.test_client()}
    problems, calls = [], 0
    for rule in app.url_map.iter_rules():
        missing = rule.arguments - set(values)
        assert not missing, f"{rule.rule} takes {missing}: add a value to this test"
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method not in rule.methods or rule.endpoint in {"staff.logout"}:
                continue
            for who, client in clients.items():
                for form in ({}, plausible_form(world)) if method != "GET" else ({},):
                    client.open(url, method=method, data=form)
                    calls += 1
                    now = audit_rows(app)
                    changed = [i for i, row in before.items() if now.get(i) != row]
                    if changed:
                        problems.append(f"{method} {url} as {who} changed audit events {changed}")
                        before = {i: now[i] for i in before if i in now}
    assert calls > 100
    assert problems == [], "\n".join(problems)
    # The sweep did confirm the erasure request, which only adds events.
    assert len(audit_rows(app)) > len(before)


def test_privacy_works_with_the_enrollment_plugin_alone(app, app_config, make_offering):
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    enrollment_id = make_enrollment(alone, make_offering)
    with session_scope(engine_of(alone)) as session:
        token = links.issue_link(session, session.get(Enrollment, enrollment_id))
        person_id = session.get(Enrollment, enrollment_id).participant_id

    document = export_by_mail(alone, alone.test_client(), token, "lege@example.no").get_json()
    result = alone.test_cli_runner().invoke(args=["privacy", "purge", "--as-of", AS_OF])

    assert "claims" not in document["tables"]
    assert document["tables"]["participants"][0]["email"] == "lege@example.no"
    assert f"Anonymised participant {person_id}: enrollments 1, participants 1" in result.output
    with session_scope(engine_of(alone)) as session:
        assert session.get(Participant, person_id).email == ""
    alone.extensions["kp_engine"].dispose()
