"""Travel claims through the web: the participant's claim under the manage link, the caseworker's
queue, decisions, payment and exports, the receipts and who may fetch them, the e-mails.

Every test runs on SQLite and on PostgreSQL. Each asserts what the person sees and what the
database then holds. The course ran a few days ago, so the claim window is open.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from app import create_app
from core.audit import AuditEvent
from core.db import session_scope, utcnow
from core.i18n import format_money, to_local
from core.mail import OutboxMessage
from enrollment.models import Enrollment, EnrollmentStatus, ManageLink, Participant, Role
from enrollment.services import links
from refunds.calc import explain
from refunds.errors import LINE_FIELDS, MESSAGES
from refunds.forms.fields import parse_kroner
from refunds.models import (
    AllowancePeriod,
    Claim,
    ClaimLine,
    ClaimStatus,
    LineKind,
    Rate,
    RateKind,
    RateScheme,
    Receipt,
)
from refunds.services.receipts import attach_receipt
from refunds.uploads import MAX_RECEIPT_BYTES, CheckedReceipt, check_receipt
from tests.conftest import staff_login
from tests.refunds_factories import attend, engine_of, load_rates
from tests.test_refunds_uploads import HOSTILE, png, real_pdf

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = ClaimStatus
ACCOUNT = "8601 11 17947"
PDF = real_pdf()  # built once: reportlab stamps each PDF with the time


# --- helpers ------------------------------------------------------------------------------------


def page(response) -> str:
    """The body with HTML entities resolved."""
    return html.unescape(response.get_data(as_text=True))


def enroll_person(app, offering_id: int, *, email: str = "lege@example.no", locale: str = "nn",
                  role: Role = Role.LIS1, name: str = "Lege Legesen",
                  status: EnrollmentStatus = EnrollmentStatus.CONFIRMED,
                  attended: bool = True) -> tuple[int, str]:
    """An enrollment with a real manage token, present at every session that has begun
    unless ``attended`` is False; returns (enrollment id, token)."""
    token, digest = links.new_token()
    with session_scope(engine_of(app)) as session:
        enrollment = Enrollment(
            offering_id=offering_id, status=status, manage_links=[ManageLink(token_hash=digest)],
            participant=Participant(full_name=name, email=email, role=role, locale=locale),
        )
        session.add(enrollment)
        session.flush()
        enrollment_id = enrollment.id
    if attended:
        attend(app, enrollment_id)
    return enrollment_id, token


def in_locale(app, locale: str, msgid: str, **values) -> str:
    """``msgid`` as the catalog of ``locale`` has it (the English text until translated)."""
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **values)


def client_in(app, locale: str):
    client = app.test_client()
    client.get(f"/lang/{locale}")
    return client


def staff_client(app, email: str = "kari@sfvl.no"):
    client = client_in(app, "en")
    staff_login(app, client, email)
    return client


def claim_data(legs=(), costs=(), bank: str = ACCOUNT, comment: str = "", **buttons) -> dict:
    """The claim form's fields for ``legs`` and ``costs`` (dicts of row values)."""
    data = {"bank_account": bank, "comment": comment, **buttons}
    for prefix, rows in (("legs", legs), ("costs", costs)):
        for index, row in enumerate(rows):
            data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def claim_row(app, claim_id: int) -> Claim:
    with session_scope(engine_of(app)) as session:
        claim = session.get(Claim, claim_id)
        claim.lines  # noqa: B018  (loaded before the session closes)
        claim.receipts  # noqa: B018
        return claim


def count(app, model) -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def mails(app) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def upload(client, token: str, claim_id: int, files, line_id: int | None = None):
    return client.post(
        f"/manage/{token}/claims/{claim_id}/receipts",
        data={"files": [(io.BytesIO(data), name) for data, name in files],
              "line": str(line_id or "")},
        content_type="multipart/form-data",
    )


@pytest.fixture
def world(app, make_offering, make_staff, now):
    """Rates, a course that ran three days ago in Vestland, a LIS1 doctor (Nynorsk) with a
    confirmed seat, a caseworker in Vestland and one in Rogaland."""
    load_rates(app)
    first_day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(first_day=first_day, title_en="Public health in Bergen",
                             title_nn="Offentleg helsearbeid i Bergen")
    enrollment_id, token = enroll_person(app, offering.id)
    make_staff("kari@sfvl.no", county="vestland")
    make_staff("rolf@sfro.no", county="rogaland", name="Rolf Rogaland")

    class World:
        pass

    World.offering_id = offering.id
    World.enrollment_id = enrollment_id
    World.token = token
    World.day = to_local(first_day + timedelta(hours=8)).date().isoformat()
    return World


def car(day: str, km: str = "312", passengers: str = "0", **values) -> dict:
    return {"travel_date": day, "from_place": "Florø", "to_place": "Bergen", "means": "own_car",
            "km": km, "passengers": passengers, **values}


def flight(day: str, amount: str = "1 500,00", **values) -> dict:
    return {"travel_date": day, "from_place": "Bergen", "to_place": "Florø", "means": "flight",
            "amount": amount, **values}


def toll(day: str, amount: str = "45,50", **values) -> dict:
    return {"kind": "toll", "travel_date": day, "amount": amount, "description": "Bompengar",
            **values}


def start_claim(client, token: str) -> int:
    response = client.post(f"/manage/{token}/claims/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/claims/(\d+)$", response.headers["Location"]).group(1))


# Receipts already checked and cleaned, by their bytes: one sandbox run per file and worker.
# The upload itself (through the sandbox, as a participant sends it) has its own tests.
_CLEANED: dict[bytes, CheckedReceipt] = {}


def cleaned(receipt: bytes) -> CheckedReceipt:
    if receipt not in _CLEANED:
        _CLEANED[receipt] = check_receipt(receipt, "bom.pdf")
    return _CLEANED[receipt]


def submitted_claim(app, world, client=None, receipt: bytes = PDF) -> int:
    """A claim with a car leg and a toll with its receipt, submitted; returns its id. The claim
    is filled and sent through the pages; its receipt is stored by the service the upload uses
    (already cleaned: see ``cleaned``)."""
    client = client or client_in(app, "nn")
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    assert client.post(url, data=claim_data([car(world.day)], [toll(world.day)],
                                            save="y")).status_code == 302
    toll_line = claim_row(app, claim_id).lines[1].id
    with app.app_context(), session_scope(engine_of(app)) as session:
        attach_receipt(session, claim_id, cleaned(receipt), now=utcnow(), line_id=toll_line)
    response = client.post(url, data=claim_data(
        [car(world.day)], [toll(world.day, receipt=str(claim_row(app, claim_id).receipts[0].id))],
        send="y"))
    assert response.status_code == 302, page(response)
    assert claim_row(app, claim_id).status == S.SUBMITTED
    return claim_id


# --- the whole journey --------------------------------------------------------------------------


def test_claim_journey_through_the_web(app, world):
    participant = client_in(app, "nn")
    staff = staff_client(app)

    manage = page(participant.get(f"/manage/{world.token}"))
    assert in_locale(app, "nn", "Travel refund claim") in manage  # the panel's heading
    assert f"/manage/{world.token}/claims" in manage

    claim_id = start_claim(participant, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    first = participant.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert 'name="legs-0-travel_date"' in page(first)
    assert 'name="legs-1-travel_date"' not in page(first)

    # "Add another leg" posts back and shows one more empty row; nothing is stored.
    more = participant.post(url, data=claim_data([car(world.day)], add_leg="y"))
    assert more.status_code == 200
    assert 'name="legs-1-travel_date"' in page(more)
    assert 'value="312"' in page(more)
    assert claim_row(app, claim_id).lines == []

    legs = [car(world.day, passengers="1"), flight(world.day)]
    checked = participant.post(url, data=claim_data(legs, [toll(world.day)], check="y"))
    assert checked.status_code == 200
    assert claim_row(app, claim_id).lines == []  # checking the amounts saves nothing
    saved = participant.post(url, data=claim_data(legs, [toll(world.day)], save="y"))
    assert saved.status_code == 302
    claim = claim_row(app, claim_id)
    # 312 km × 5,30 + 312 km × 1 × 1,00 = 1 965,60; the flight 1 500,00; the toll 45,50.
    assert [line.amount_ore for line in claim.lines] == [196_560, 150_000, 4_550]
    assert claim.total_ore == 351_110
    assert claim.bank_account == "86011117947"
    shown = page(participant.get(url))
    for text in (explain(claim.lines[0], "nn"), format_money(351_110, "nn")):
        assert text in shown
    assert "312 km × 5,30\u00a0kr + 312 km × 1,00\u00a0kr = 1\u00a0965,60\u00a0kr" in shown
    assert page(checked).count("1\u00a0965,60\u00a0kr") >= 1

    flight_line, toll_line = claim.lines[1].id, claim.lines[2].id
    assert upload(participant, world.token, claim_id, [(png(), "billett.png")],
                  flight_line).status_code == 302
    assert upload(participant, world.token, claim_id, [(PDF, "bom.pdf")],
                  toll_line).status_code == 302
    claim = claim_row(app, claim_id)
    ticket, toll_receipt = claim.receipts
    assert (claim.lines[1].receipt_id, claim.lines[2].receipt_id) == (ticket.id, toll_receipt.id)

    linked = [car(world.day, passengers="1"), flight(world.day, receipt=str(ticket.id))]
    costs = [toll(world.day, receipt=str(toll_receipt.id))]
    sent = participant.post(url, data=claim_data(linked, costs, send="y"))
    assert sent.status_code == 302, page(sent)
    assert claim_row(app, claim_id).status == S.SUBMITTED
    read_only = page(participant.get(url))
    assert 'name="legs-0-travel_date"' not in read_only
    assert in_locale(app, "nn", "Submitted") in read_only

    queue = page(staff.get("/staff/refunds/"))
    assert claim.reference in queue
    assert "Lege Legesen" in queue
    detail = page(staff.get(f"/staff/refunds/claims/{claim_id}"))
    assert f'src="/staff/refunds/receipts/{ticket.id}?inline=1"' in detail
    assert f'href="/staff/refunds/receipts/{toll_receipt.id}"' in detail
    assert explain(claim.lines[0], "en") in detail

    returned = staff.post(f"/staff/refunds/claims/{claim_id}/return",
                          data={"return-reason": "Legg ved billetten for heimreisa."})
    assert returned.status_code == 302
    assert claim_row(app, claim_id).status == S.RETURNED
    again = page(participant.get(url))
    assert "Legg ved billetten for heimreisa." in again
    assert 'name="legs-0-travel_date"' in again

    fixed = [car(world.day, km="300", passengers="1"), flight(world.day, receipt=str(ticket.id))]
    resent = participant.post(url, data=claim_data(fixed, costs, send="y"))
    assert resent.status_code == 302, page(resent)
    claim = claim_row(app, claim_id)
    assert claim.status == S.RESUBMITTED
    assert claim.total_ore == 300 * 530 + 300 * 100 + 150_000 + 4_550

    lines = {f"lines-{i}-line_id": str(line.id) for i, line in enumerate(claim.lines)}
    unanswered = staff.post(f"/staff/refunds/claims/{claim_id}/approve", data=lines)
    assert unanswered.status_code == 400
    assert "Record whether the office approved the use of own car." in page(unanswered)
    # ... and the error summary on top leads to the question (the message is a lazy string).
    assert re.search(r'<a class="ds-link" href="#own_car_approved-0">[^<]*Record whether the '
                     r'office approved the use of own car\.</a>', page(unanswered))
    assert claim_row(app, claim_id).status == S.RESUBMITTED
    approved = staff.post(f"/staff/refunds/claims/{claim_id}/approve", data={
        **lines, "lines-2-amount": "40,00", "lines-2-note": "Bompengar med brikke",
        "own_car_approved": "yes"})
    assert approved.status_code == 302, page(approved)
    claim = claim_row(app, claim_id)
    assert claim.status == S.APPROVED
    assert claim.own_car_approved is True
    assert claim.own_car_recorded_by_id is not None
    assert claim.own_car_recorded_at is not None
    assert claim.lines[2].adjusted_amount_ore == 4_000
    assert claim.approved_total_ore == claim.total_ore - 550
    assert "Bompengar med brikke" in page(participant.get(url))

    exported = staff.get("/staff/refunds/export.csv")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert exported.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[1][:4] == ["Lege Legesen", "86011117947",
                           f"{claim.approved_total_ore / 100:.2f}".replace(".", ","),
                           claim.reference]
    assert rows[1][6] == "Yes"
    book = openpyxl.load_workbook(io.BytesIO(staff.get("/staff/refunds/export.xlsx").data))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[1][3] == claim.reference
    assert sheet[-1][0] == "Total"
    assert round(float(sheet[-1][2]) * 100) == claim.approved_total_ore

    paid = staff.post("/staff/refunds/paid?status=approved",
                      data={"claim_ids": [str(claim_id)], "payment_date": "2026-11-20"})
    assert paid.status_code == 302, page(paid)
    claim = claim_row(app, claim_id)
    assert (claim.status, claim.payment_date) == (S.PAID, date(2026, 11, 20))
    assert list(csv.reader(io.StringIO(
        staff.get("/staff/refunds/export.csv").get_data().decode("utf-8-sig")),
        delimiter=";"))[1:] == []

    # One e-mail per status change, to the participant, in Nynorsk; the audit trail of staff.
    sent_mails = [m for m in mails(app) if m.to_address == "lege@example.no"]
    assert len(sent_mails) == 5
    assert {m.locale for m in sent_mails} == {"nn"}
    assert [m.subject for m in sent_mails] == [
        in_locale(app, "nn", subject, ref=claim.reference) for subject in (
            "Travel claim %(ref)s received", "Travel claim %(ref)s returned for changes",
            "Travel claim %(ref)s received again", "Travel claim %(ref)s approved",
            "Travel claim %(ref)s paid")]
    assert "Legg ved billetten for heimreisa." in sent_mails[1].body_text
    assert "Bompengar med brikke" in sent_mails[3].body_text
    assert format_money(claim.approved_total_ore, "nn") in sent_mails[4].body_text
    with session_scope(engine_of(app)) as session:
        actions = session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "claim").order_by(AuditEvent.id)).all()
    assert actions == ["claim.returned", "claim.approved", "claim.paid"]


# --- amounts as people type them ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "ore"), [
    ("1 653,60", 165_360), ("1653.60", 165_360), ("1.653,60", 165_360), ("1,653.60", 165_360),
    ("kr 45", 4_500), ("45,-", 4_500), ("45,5", 4_550), ("0,50", 50), ("1\u00a0234", 123_400),
])
def test_amounts_in_kroner_become_ore(text, ore):
    assert parse_kroner(text) == ore


@pytest.mark.parametrize("text", ["", "12.500", "1,2,3", "12,345", "-5", "1e3", "٣", "abc",
                                  "1234567890"])
def test_amounts_that_are_not_kroner_are_refused(text):
    with pytest.raises(ValueError):  # noqa: PT011 (each refusal has its own reason)
        parse_kroner(text)


# --- receipts: who may fetch them, how they are served, what is refused --------------------


def test_receipts_are_served_only_to_the_owner_and_staff_of_the_county(app, world, make_staff):
    claim_id = submitted_claim(app, world)
    receipt_id = claim_row(app, claim_id).receipts[0].id
    own = f"/manage/{world.token}/claims/{claim_id}/receipts/{receipt_id}"
    with session_scope(engine_of(app)) as session:  # the file as re-written clean
        stored = session.scalar(sa.select(Receipt.data).where(Receipt.id == receipt_id))
    assert stored.startswith(b"%PDF-")
    assert app.test_client().get(own).data == stored

    _other_id, other_token = enroll_person(app, world.offering_id, email="annan@example.no")
    stranger = app.test_client()
    assert stranger.get(f"/manage/{other_token}/claims/{claim_id}/receipts/"
                        f"{receipt_id}").status_code == 404
    assert stranger.get(f"/manage/{other_token}/claims/{claim_id}").status_code == 404
    assert stranger.get(f"/manage/not-a-token/claims/{claim_id}").status_code == 404
    # The right token with another claim's receipt id is no way round either.
    assert stranger.get(f"/manage/{world.token}/claims/{claim_id + 1}/receipts/"
                        f"{receipt_id}").status_code == 404

    staff_url = f"/staff/refunds/receipts/{receipt_id}"
    assert staff_client(app, "rolf@sfro.no").get(staff_url).status_code == 404
    assert app.test_client().get(staff_url).status_code == 302  # to the login
    assert staff_client(app).get(staff_url).data == stored
    make_staff("admin@sf.no", admin=True)
    assert staff_client(app, "admin@sf.no").get(staff_url).status_code == 200


def test_a_draft_claims_receipt_is_the_participants_own_until_it_is_sent_in(app, world,
                                                                            make_staff):
    client = client_in(app, "nn")
    claim_id = start_claim(client, world.token)
    assert upload(client, world.token, claim_id, [(png(), "a.png")]).status_code == 302
    receipt_id = claim_row(app, claim_id).receipts[0].id
    make_staff("admin@sf.no", admin=True)
    staff_url = f"/staff/refunds/receipts/{receipt_id}"
    # Staff of the county, and an administrator, see neither the draft nor its receipt.
    for staff in (staff_client(app), staff_client(app, "admin@sf.no")):
        assert staff.get(f"/staff/refunds/claims/{claim_id}").status_code == 404
        assert staff.get(staff_url).status_code == 404
        assert staff.get(staff_url + "?inline=1").status_code == 404
    own = client.get(f"/manage/{world.token}/claims/{claim_id}/receipts/{receipt_id}")
    assert own.status_code == 200
    assert own.headers["Content-Type"] == "image/png"
    with session_scope(engine_of(app)) as session:
        assert session.get(Claim, claim_id).status == ClaimStatus.DRAFT


def test_receipts_are_served_with_safe_headers(app, world):
    claim_id = submitted_claim(app, world)
    client = client_in(app, "nn")
    with session_scope(engine_of(app)) as session:  # an image too, added directly for the test
        session.add(Receipt(claim_id=claim_id, data=png(), sha256="0" * 64,
                            original_sha256="0" * 64,
                            content_type="image/png", size=len(png()), original_name="a.png"))
    pdf, image = claim_row(app, claim_id).receipts
    staff = staff_client(app)

    for response in (client.get(f"/manage/{world.token}/claims/{claim_id}/receipts/{pdf.id}"),
                     staff.get(f"/staff/refunds/receipts/{pdf.id}?inline=1")):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="receipt-{pdf.id}.pdf"')
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("sandbox")
        assert response.headers["Cache-Control"] == "no-store"
    shown = staff.get(f"/staff/refunds/receipts/{image.id}?inline=1")
    assert shown.headers["Content-Type"] == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    downloaded = client.get(f"/manage/{world.token}/claims/{claim_id}/receipts/{image.id}")
    assert downloaded.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(("name", "data", "status", "message"), [
    ("kvittering.pdf", HOSTILE["html_named_pdf"][0], 400,
     "Only PDF, JPEG and PNG files can be uploaded."),
    ("bilde.svg", HOSTILE["svg_with_script"][0], 400,
     "Only PDF, JPEG and PNG files can be uploaded."),
    ("stor.png", HOSTILE["png_bomb_50000"][0], 400, "The image is too large (too many pixels)"),
    ("hemmeleg.pdf", HOSTILE["pdf_encrypted"][0], 400, "The PDF is protected by a password"),
    ("bombe.pdf", HOSTILE["pdf_flate_bomb"][0], 400, "The file took too long to check"),
    ("../../etc/passwd", PDF, 400, "The file name is not allowed."),
    ("diger.pdf", b"%PDF-1.7\n" + b"0" * MAX_RECEIPT_BYTES, 413, "larger than 10 MB"),
])
def test_a_hostile_upload_is_refused_with_a_message_and_nothing_stored(app, world, name, data,
                                                                       status, message):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    response = upload(client, world.token, claim_id, [(png(), "fin.png"), (data, name)])
    assert response.status_code == status
    body = page(response)
    assert message in body
    assert re.search(r'class="ds-validation-message field-errors" data-field="validation"'
                     r' id="files-error">', body)
    assert count(app, Receipt) == 0  # not even the good file sent with it


@pytest.mark.parametrize(("locale", "message"), [
    ("nn", "PDF-fila er verna med passord."),
    ("nb", "PDF-filen er beskyttet med passord."),
    ("en", "The PDF is protected by a password."),
])
def test_the_sandboxs_refusal_is_shown_next_to_the_file_field_in_the_persons_language(
        app, world, locale, message):
    client = client_in(app, locale)
    claim_id = start_claim(client, world.token)
    response = upload(client, world.token, claim_id,
                      [(HOSTILE["pdf_encrypted"][0], "hemmeleg.pdf")])
    assert response.status_code == 400
    body = page(response)
    errors = re.search(r'field-errors" data-field="validation" id="files-error">(.*?)</div>',
                       body, re.S)
    assert errors is not None
    assert "hemmeleg.pdf" in errors.group(1)
    assert message in errors.group(1)
    # The claim form's error summary leads to the file field too.
    assert re.search(r'<a class="ds-link" href="#files">[^<]*hemmeleg\.pdf', body)
    assert count(app, Receipt) == 0


def test_an_upload_request_over_the_limit_gets_the_friendly_413_page(app_config, world):
    app_config["REFUNDS_UPLOAD_REQUEST_LIMIT"] = 512 * 1024
    app = create_app(app_config)
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    response = upload(client, world.token, claim_id, [(b"%PDF-" + b"0" * 600_000, "a.pdf")])
    assert response.status_code == 413
    assert "The upload is too large" in page(response)
    assert count(app, Receipt) == 0
    # Other routes keep the application's own, smaller limit.
    assert app.config["MAX_CONTENT_LENGTH"] < app_config["REFUNDS_UPLOAD_REQUEST_LIMIT"] * 30
    app.extensions["kp_engine"].dispose()


def test_uploads_to_one_claim_are_limited_and_the_refusal_stores_nothing(app_config, world):
    # Every receipt costs a sandboxed parse: one claim's uploads are counted, in the shared store.
    app_config.update(RATELIMIT_ENABLED=True, RECEIPT_UPLOAD_RATE_LIMIT="2 per 10 minutes")
    app = create_app(app_config)
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    statuses = [upload(client, world.token, claim_id, [(png(), f"{n}.png")]).status_code
                for n in range(3)]
    assert statuses == [302, 302, 429]
    assert len(claim_row(app, claim_id).receipts) == 2
    app.extensions["kp_engine"].dispose()


def test_several_receipts_upload_at_once_and_can_be_removed(app, world):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    response = upload(client, world.token, claim_id, [(png(), "a.png"), (PDF, "b.pdf")])
    assert response.status_code == 302
    assert "2 receipts uploaded." in page(client.get(response.headers["Location"]))
    first, second = claim_row(app, claim_id).receipts
    assert (first.original_name, second.content_type) == ("a.png", "application/pdf")
    removed = client.post(f"/manage/{world.token}/claims/{claim_id}/receipts/{first.id}/delete")
    assert removed.status_code == 302
    assert [r.id for r in claim_row(app, claim_id).receipts] == [second.id]


# --- the claim form ---------------------------------------------------------------------------


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(app, world):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    taxi = {"travel_date": world.day, "from_place": "Flesland", "to_place": "Bergen",
            "means": "taxi", "amount": "450"}
    response = client.post(url, data=claim_data(
        [car(world.day, km=""), flight(world.day, amount="12.500"), taxi],
        bank="8601 11 17948", save="y"))
    assert response.status_code == 400
    body = page(response)
    assert "Write the amount in kroner, like 1 234,50." in body
    assert "This is not a valid account number. Check the digits." in body
    assert claim_row(app, claim_id).lines == []

    response = client.post(url, data=claim_data(
        [car(world.day, km=""), flight(world.day), taxi], save="y"))
    assert response.status_code == 400
    body = page(response)
    assert re.search(r'id="legs-0-km-error">\s*<p>Enter the kilometres you drove.', body)
    assert re.search(r'id="legs-2-taxi_reason-error">\s*<p>A taxi is refunded only with a '
                     r'reason', body)
    assert claim_row(app, claim_id).lines == []


def test_a_row_ticked_for_removal_or_left_empty_is_no_line(app, world):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    empty = {"travel_date": "", "from_place": "", "to_place": "", "means": "own_car", "km": "",
             "passengers": "0", "amount": ""}
    data = claim_data([car(world.day), flight(world.day, remove="y"), empty], save="y")
    assert client.post(url, data=data).status_code == 302
    assert [line.means.value for line in claim_row(app, claim_id).lines] == ["own_car"]


def test_submitting_lists_what_is_missing_and_keeps_the_draft(app, world):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    response = client.post(url, data=claim_data([car(world.day)], [toll(world.day)], bank="",
                                                send="y"))
    assert response.status_code == 400
    body = page(response)
    assert "Some lines need a receipt." in body
    assert re.search(r'id="costs-0-receipt-error">\s*<p>This line needs a receipt.', body)
    assert "Enter the account number the refund should be paid to." in body
    claim = claim_row(app, claim_id)
    assert claim.status == S.DRAFT
    assert len(claim.lines) == 2  # the draft as typed is saved
    assert mails(app) == []


def test_a_submitted_claim_is_read_only(app, world):
    claim_id = submitted_claim(app, world)
    client = client_in(app, "en")
    url = f"/manage/{world.token}/claims/{claim_id}"
    before = claim_row(app, claim_id)
    response = client.post(url, data=claim_data([car(world.day, km="999")], save="y"))
    assert response.status_code == 409
    assert "can no longer be changed" in page(response)
    assert upload(client, world.token, claim_id, [(png(), "a.png")]).status_code == 409
    after = claim_row(app, claim_id)
    assert [line.km for line in after.lines] == [line.km for line in before.lines]
    assert len(after.receipts) == 1


def test_outside_the_claim_window_the_pages_say_why(app, world, make_offering, now):
    long_ago = (now - timedelta(days=200)).replace(hour=0, minute=0, second=0, microsecond=0)
    old = make_offering(first_day=long_ago, title_en="Old course")
    _enrollment_id, token = enroll_person(app, old.id, email="sein@example.no")
    client = client_in(app, "en")
    deadline = "The deadline for travel claims for this course was"
    assert deadline in page(client.get(f"/manage/{token}"))
    assert deadline in page(client.get(f"/manage/{token}/claims"))
    refused = client.post(f"/manage/{token}/claims/new")
    assert refused.status_code == 403
    assert deadline in page(refused)
    assert count(app, Claim) == 0

    # A draft started in time cannot be submitted after the deadline.
    with session_scope(engine_of(app)) as session:
        enrollment = session.scalar(sa.select(Enrollment).where(Enrollment.offering_id == old.id))
        scheme_id = session.scalar(sa.select(RateScheme.id).where(RateScheme.is_default))
        claim = Claim(enrollment=enrollment, scheme_id=scheme_id, reference="RR-2026-999999")
        session.add(claim)
        session.flush()
        claim_id = claim.id
    form = page(client.get(f"/manage/{token}/claims/{claim_id}"))
    assert deadline in form
    assert 'name="send"' not in form
    response = client.post(f"/manage/{token}/claims/{claim_id}",
                           data=claim_data([car(world.day)], send="y"))
    assert response.status_code == 403
    assert deadline in page(response)
    assert claim_row(app, claim_id).status == S.DRAFT


@pytest.mark.parametrize(("role", "kind", "values", "status", "message"), [
    (Role.SUPERVISOR, "supervisor_training_lis1", {}, EnrollmentStatus.CONFIRMED,
     "Travel costs are refunded for LIS1 doctors and interns, not for supervisors."),
    (Role.LIS1, "public_health", {"refund_eligible": False}, EnrollmentStatus.CONFIRMED,
     "Travel costs are not refunded for this course."),
    (Role.LIS1, "public_health", {}, EnrollmentStatus.PENDING,
     "Travel costs can be claimed once your enrollment is confirmed."),
])
def test_the_panel_says_why_no_claim_can_be_made(app, world, make_offering, now, role, kind,
                                                 values, status, message):
    offering = make_offering(kind=kind, first_day=now - timedelta(days=3), **values)
    _enrollment_id, token = enroll_person(app, offering.id, email="x@example.no", role=role,
                                          status=status)
    client = client_in(app, "en")
    manage = page(client.get(f"/manage/{token}"))
    assert "Travel refund claim" in manage
    assert message in manage
    assert "Claim travel costs" not in manage
    assert client.post(f"/manage/{token}/claims/new").status_code == 403
    assert count(app, Claim) == 0


def test_the_app_runs_with_the_enrollment_plugin_alone(app_config, world):
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    client = alone.test_client()
    client.get("/lang/en")
    manage = client.get(f"/manage/{world.token}")
    assert manage.status_code == 200
    assert "Travel refund claim" not in page(manage)
    assert client.get(f"/manage/{world.token}/claims").status_code == 404
    assert not any(rule.endpoint.startswith("refunds.") for rule in alone.url_map.iter_rules())
    alone.extensions["kp_engine"].dispose()


def test_a_draft_can_be_deleted_but_not_a_submitted_claim(app, world):
    client = client_in(app, "en")
    claim_id = start_claim(client, world.token)
    assert client.post(f"/manage/{world.token}/claims/{claim_id}/delete").status_code == 302
    assert count(app, Claim) == 0
    submitted = submitted_claim(app, world)
    response = client.post(f"/manage/{world.token}/claims/{submitted}/delete")
    assert response.status_code == 302
    assert claim_row(app, submitted).status == S.SUBMITTED


# --- staff -------------------------------------------------------------------------------------


def test_a_caseworker_cannot_approve_a_claim_of_their_own_email(app, world, make_staff):
    _id, token = enroll_person(app, world.offering_id, email="kollega@sfvl.no",
                               name="Kari Kollega")
    make_staff("kollega@sfvl.no", county="vestland")
    claim_id = submitted_claim(app, type("W", (), {"token": token, "day": world.day}))
    own = staff_client(app, "kollega@sfvl.no")
    response = own.post(f"/staff/refunds/claims/{claim_id}/approve",
                        data={"own_car_approved": "yes"})
    assert response.status_code == 403
    assert "You cannot approve a claim made with your own e-mail address." in page(response)
    assert claim_row(app, claim_id).status == S.SUBMITTED
    assert staff_client(app).post(f"/staff/refunds/claims/{claim_id}/approve",
                                  data={"own_car_approved": "no"}).status_code == 302
    assert claim_row(app, claim_id).own_car_approved is False
    assert claim_row(app, claim_id).status == S.APPROVED


def test_rejecting_needs_a_reason_and_mails_the_participant_in_their_language(app, world,
                                                                               make_offering):
    _id, token = enroll_person(app, world.offering_id, email="eng@example.org", locale="en")
    claim_id = submitted_claim(app, type("W", (), {"token": token, "day": world.day}),
                               client_in(app, "nb"))
    staff = staff_client(app)
    url = f"/staff/refunds/claims/{claim_id}/reject"
    empty = staff.post(url, data={"reject-reason": "  "})
    assert empty.status_code == 400
    assert "Write why the claim is rejected." in page(empty)
    assert claim_row(app, claim_id).status == S.SUBMITTED
    assert staff.post(url, data={"reject-reason": "Not a course day."}).status_code == 302
    claim = claim_row(app, claim_id)
    assert (claim.status, claim.reason) == (S.REJECTED, "Not a course day.")
    received, rejected = [m for m in mails(app) if m.to_address == "eng@example.org"]
    assert (received.locale, rejected.locale) == ("en", "en")
    assert rejected.subject == f"Travel claim {claim.reference} rejected"
    assert "Not a course day." in rejected.body_text
    assert format_money(claim.total_ore, "en") in received.body_text
    participant_view = page(client_in(app, "en").get(f"/manage/{token}/claims/{claim_id}"))
    assert "Not a course day." in participant_view


def test_the_queue_filters_flags_duplicates_and_takes_a_fixed_number_of_queries(
        app, world, make_offering, count_queries):
    claim_id = submitted_claim(app, world)
    staff = staff_client(app)
    staff.get("/staff/refunds/")  # warm up: login and caches
    with count_queries() as one:
        assert staff.get("/staff/refunds/").status_code == 200
    for number in range(3):
        _id, token = enroll_person(app, world.offering_id, email=f"p{number}@example.no")
        submitted_claim(app, type("W", (), {"token": token, "day": world.day}),
                        receipt=png(width=4 + number))
    # The same person claims the same day once more, through another course.
    second = make_offering(first_day=utcnow() - timedelta(days=3), title_en="Second course")
    _id, token = enroll_person(app, second.id)
    duplicate = submitted_claim(app, type("W", (), {"token": token, "day": world.day}),
                                receipt=png(width=10))
    with count_queries() as five:
        queue = staff.get("/staff/refunds/")
    assert len(five) == len(one)
    body = page(queue)
    assert body.count("RR-") == 5
    assert body.count("1 possible duplicate") == 2  # the two claims of the same day
    assert claim_row(app, duplicate).reference in body

    only_second = page(staff.get(f"/staff/refunds/?offering={second.id}"))
    assert only_second.count("RR-") == 1
    assert page(staff.get("/staff/refunds/?status=approved")).count("RR-") == 0
    assert staff.get("/staff/refunds/?offering=999999").status_code == 400
    detail = page(staff.get(f"/staff/refunds/claims/{claim_id}"))
    assert "Possible duplicates" in detail


def test_every_status_filter_of_the_queue_counts_and_lists_the_sent_claims_oldest_first(
        app, world):
    waiting = submitted_claim(app, world)
    _id, token = enroll_person(app, world.offering_id, email="godkjend@example.no")
    approved = submitted_claim(app, type("W", (), {"token": token, "day": world.day}),
                               receipt=png(width=7))
    _id, token = enroll_person(app, world.offering_id, email="utkast@example.no")
    draft = start_claim(client_in(app, "en"), token)
    staff = staff_client(app)
    assert staff.post(f"/staff/refunds/claims/{approved}/approve",
                      data={"own_car_approved": "yes"}).status_code == 302
    refs = {claim_id: claim_row(app, claim_id).reference for claim_id in (waiting, approved, draft)}
    expected = {"": [waiting], "submitted": [waiting], "approved": [approved], "returned": [],
                "resubmitted": [], "rejected": [], "paid": [], "all": [waiting, approved]}
    for status, claim_ids in expected.items():
        body = page(staff.get(f"/staff/refunds/?status={status}"))
        shown = re.findall(r"RR-\d{4}-\d{6}", body.split("<tbody>")[1] if claim_ids else "")
        # (the approved filter also names each claim in its tick box's label)
        assert list(dict.fromkeys(shown)) == [refs[claim_id] for claim_id in claim_ids], status
        if claim_ids:
            assert f"Matching claims: {len(claim_ids)}" in body
        else:
            assert "No claims match." in body
        assert refs[draft] not in body
    # Each claim keeps its enrollment's offering, which the queue counts and scopes by.
    with session_scope(engine_of(app)) as session:
        pairs = session.execute(sa.select(Claim.offering_id, Enrollment.offering_id)
                                .join(Enrollment, Enrollment.id == Claim.enrollment_id)).all()
    assert len(pairs) == 3
    assert all(claim_offering == world.offering_id == enrollment_offering
               for claim_offering, enrollment_offering in pairs)


def test_other_county_staff_see_neither_queue_entries_nor_claims(app, world):
    claim_id = submitted_claim(app, world)
    rogaland = staff_client(app, "rolf@sfro.no")
    assert "RR-" not in page(rogaland.get("/staff/refunds/?status=all"))
    assert rogaland.get(f"/staff/refunds/claims/{claim_id}").status_code == 404
    assert rogaland.post(f"/staff/refunds/claims/{claim_id}/approve").status_code == 404
    assert claim_row(app, claim_id).status == S.SUBMITTED


def test_a_draft_is_not_shown_to_staff(app, world):
    claim_id = start_claim(client_in(app, "en"), world.token)
    assert staff_client(app).get(f"/staff/refunds/claims/{claim_id}").status_code == 404


def test_mark_paid_one_claim_and_the_payment_file(app_config, world):
    app_config.update(REFUNDS_DEBTOR_NAME="Statsforvaltaren i Vestland",
                      REFUNDS_DEBTOR_ACCOUNT="76940512057")
    app = create_app(app_config)
    claim_id = submitted_claim(app, world)
    staff = staff_client(app)
    assert staff.post(f"/staff/refunds/claims/{claim_id}/approve",
                      data={"own_car_approved": "yes"}).status_code == 302
    xml = staff.get("/staff/refunds/export.xml")
    assert xml.status_code == 200
    assert xml.headers["Content-Disposition"].startswith("attachment")
    claim = claim_row(app, claim_id)
    assert f"<EndToEndId>{claim.reference}</EndToEndId>" in xml.get_data(as_text=True)
    assert f'Ccy="NOK">{claim.payable_ore / 100:.2f}<' in xml.get_data(as_text=True)

    missing_date = staff.post(f"/staff/refunds/claims/{claim_id}/paid",
                              data={"paid-payment_date": ""})
    assert missing_date.status_code == 400
    assert "Enter the payment date." in page(missing_date)
    assert staff.post(f"/staff/refunds/claims/{claim_id}/paid",
                      data={"paid-payment_date": "2026-11-19"}).status_code == 302
    claim = claim_row(app, claim_id)
    assert (claim.status, claim.payment_date) == (S.PAID, date(2026, 11, 19))
    assert staff.get("/staff/refunds/export.xml").status_code == 302  # nothing left to pay
    paid_mail = mails(app)[-1]
    assert paid_mail.subject == in_locale(app, "nn", "Travel claim %(ref)s paid",
                                          ref=claim.reference)
    assert "7947" in paid_mail.body_text
    app.extensions["kp_engine"].dispose()


def test_the_payment_file_needs_the_paying_account(app, world):
    response = staff_client(app).get("/staff/refunds/export.xml")
    assert response.status_code == 302
    assert "Payment file" not in page(staff_client(app).get("/staff/refunds/?status=approved"))


def test_batch_payment_refuses_claims_not_approved_and_changes_nothing(app, world):
    claim_id = submitted_claim(app, world)
    staff = staff_client(app)
    response = staff.post("/staff/refunds/paid?status=approved",
                          data={"claim_ids": [str(claim_id)], "payment_date": "2026-11-20"})
    assert response.status_code == 409
    assert claim_row(app, claim_id).status == S.SUBMITTED
    nothing = staff.post("/staff/refunds/paid", data={"payment_date": "2026-11-20"})
    assert nothing.status_code == 400
    assert "Select at least one claim." in page(nothing)


def test_claim_lines_line_up_with_the_amounts_table(app, world):
    claim_id = submitted_claim(app, world)
    with session_scope(engine_of(app)) as session:
        lines = session.scalars(sa.select(ClaimLine).where(ClaimLine.claim_id == claim_id)
                                .order_by(ClaimLine.position)).all()
        expected = [explain(line, "en") for line in lines]
    detail = page(staff_client(app).get(f"/staff/refunds/claims/{claim_id}"))
    assert expected[0] in detail
    assert "As paid" in detail  # the toll is refunded at what was paid


def test_every_refusal_code_of_the_domain_has_a_message():
    """A code added to the domain later fails here until the web layer can explain it."""
    source = "\n".join(path.read_text(encoding="utf-8")
                       for path in (Path(__file__).parent.parent / "refunds").rglob("*.py"))
    calc = set(re.findall(r'CalcError\("(\w+)"', source))
    # Receipts are refused in refunds.uploads and, from inside the sandbox, by core's jobs.
    sandbox = "\n".join((Path(__file__).parent.parent / "core" / name).read_text(encoding="utf-8")
                        for name in ("sandbox.py", "sanitize.py"))
    receipt = set(re.findall(r'ReceiptRefused\("(\w+)"', source)) | set(
        re.findall(r'Refused\("(\w+)"', sandbox))
    claim = (set(re.findall(r'code="(\w+)"', source)) | set(re.findall(r'code = "(\w+)"', source))
             | set(re.findall(r'problems\.append\("(\w+)"\)', source))) - {"error"}
    assert len(calc) >= 10
    assert len(receipt) >= 8
    assert len(claim) >= 20
    assert calc - set(MESSAGES) == set()
    assert calc - set(LINE_FIELDS) == set()  # each shown at its field of the claim row
    assert receipt - set(MESSAGES) == set()
    assert claim - set(MESSAGES) == set()


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
def test_meal_allowance_and_night_rows_through_the_web(app, world, locale):
    # An office that pays allowances, with its own 2026 rates (test figures: the data file
    # has no official 2026 meal or night rate yet).
    with session_scope(engine_of(app)) as session:
        scheme = session.scalar(sa.select(RateScheme).where(RateScheme.code == "state"))
        scheme.allowances_enabled = True
        scheme.rates.append(Rate(kind=RateKind.MEAL_DAY_6_12H, amount_ore=40_000,
                                 valid_from=date(2026, 1, 1)))
        scheme.rates.append(Rate(kind=RateKind.NIGHT_SUPPLEMENT, amount_ore=45_000,
                                 valid_from=date(2026, 1, 1)))
    client = client_in(app, locale)
    claim_id = start_claim(client, world.token)
    url = f"/manage/{world.token}/claims/{claim_id}"
    form = page(client.get(url))
    assert in_locale(app, locale, "Meal allowance") in form
    assert in_locale(app, locale, "Nights without a lodging receipt") in form

    rows = {"legs-0-travel_date": world.day, "legs-0-from_place": "Florø",
            "legs-0-to_place": "Bergen", "legs-0-means": "own_car", "legs-0-km": "40",
            "legs-0-passengers": "0", "bank_account": ACCOUNT,
            "allowances-0-travel_date": world.day, "allowances-0-journey_km": "14",
            "allowances-0-hours": "8", "nights-0-travel_date": world.day, "save": "y"}
    refused = client.post(url, data=rows)
    assert refused.status_code == 400
    message = in_locale(app, locale, "A meal allowance is paid only for a journey of more "
                                     "than 15 km.")
    assert re.search(r'id="allowances-0-journey_km-error">\s*<p>' + re.escape(message),
                     page(refused))
    assert claim_row(app, claim_id).lines == []

    short = client.post(url, data={**rows, "allowances-0-journey_km": "40",
                                   "allowances-0-hours": "5"})
    assert short.status_code == 400
    assert in_locale(app, locale, "A meal allowance is paid only for a journey of 6 hours or "
                                  "more.") in page(short)

    saved = client.post(url, data={**rows, "allowances-0-journey_km": "40",
                                   "allowances-0-hours": "7,5" if locale != "en" else "7.5",
                                   "allowances-0-lunch_provided": "y"})
    assert saved.status_code == 302, page(saved)
    lines = claim_row(app, claim_id).lines
    assert [line.kind for line in lines] == [LineKind.LEG, LineKind.MEAL_ALLOWANCE,
                                             LineKind.NIGHT_SUPPLEMENT]
    allowance, night = lines[1], lines[2]
    # 400 kr less 30 % for lunch = 280 kr; the night at 450 kr.
    assert (allowance.amount_ore, allowance.deduction_percent) == (28_000, 30)
    assert allowance.allowance_period == AllowancePeriod.DAY_6_12H
    assert (allowance.journey_km, allowance.hours) == (40, Decimal("7.5"))
    assert night.amount_ore == 45_000
    again = page(client.get(url))
    assert in_locale(app, locale, "Night supplement (no lodging receipt)") in again
    assert re.search(r'<input checked class="ds-input" id="allowances-0-lunch_provided"', again)
