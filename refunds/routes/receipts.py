"""Receipts of a claim: the participant uploads several at once (each checked and re-written
clean in the sandbox, outside any transaction; any refusal storing none), downloads and removes
them; staff see them through ``routes.staff_claims``.

A receipt is always served with the type sniffed when it was stored, never sniffed again by the
browser, as a download (inline only for images the staff page shows), and sandboxed if opened.
"""

from __future__ import annotations

import time

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from core.db import end_transaction, get_session, utcnow
from core.limits import config_limit, limiter, view_args_key
from core.routes import Routes
from core.sandbox import Limits
from core.transaction import refusals
from core.web import no_store
from refunds.errors import RefundError, message
from refunds.forms.claim import ConfirmForm, UploadForm
from refunds.models import Claim, Receipt
from refunds.queries import receipt_select
from refunds.routes.claim_page import (
    add_error,
    claim_or_404,
    claim_page,
    csrf_failed,
    enrollment_or_404,
    line_choices,
)
from refunds.services.receipts import attach_receipt, remove_receipt
from refunds.services.status import EDITABLE
from refunds.uploads import (
    CONTENT_TYPES,
    JPEG,
    PDF,
    PNG,
    read_receipt,
    safe_display_name,
)

routes = Routes()

_EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}


def receipt_response(receipt: Receipt, *, inline: bool = False) -> Response:
    """The receipt's bytes with the sniffed type, as a download (inline only for images), never
    sniffed again by the browser and sandboxed if opened."""
    content_type = receipt.content_type
    if content_type not in CONTENT_TYPES:
        content_type = "application/octet-stream"
    disposition = "inline" if inline and content_type in (JPEG, PNG) else "attachment"
    name = f"receipt-{receipt.id}.{_EXTENSIONS.get(content_type, 'bin')}"
    response = Response(receipt.data, content_type=content_type)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; frame-ancestors 'none'")
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return no_store(response)


# --- the participant's receipts -------------------------------------------------------------------


@routes.post("/manage/<token>/claims/<int:claim_id>/receipts")
@limiter.limit(config_limit("RECEIPT_UPLOAD_RATE_LIMIT"), key_func=view_args_key)
@limiter.limit(config_limit("RECEIPT_UPLOAD_IP_RATE_LIMIT"))
def upload_receipts(token: str, claim_id: int):
    """Store one or more receipts on an editable claim; any refused file stores none.

    The files are checked and cleaned in the sandbox between two transactions: after the
    claim is read, before the receipts are written, so no lock is held while they are parsed.
    """
    request.max_content_length = current_app.config["REFUNDS_UPLOAD_REQUEST_LIMIT"]
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    form = UploadForm()
    form.line.choices = line_choices(claim)
    valid = form.validate_on_submit()
    if claim.status not in EDITABLE:
        if csrf_failed(form):
            abort(400)
        return claim_page(enrollment, token, claim, problems=[message("locked")],
                           status=409)
    files = form.chosen_files()
    if valid and len(files) > current_app.config["REFUNDS_UPLOAD_MAX_FILES"]:
        add_error(form.files, _("Upload at most %(num)d files at a time.",
                                 num=current_app.config["REFUNDS_UPLOAD_MAX_FILES"]))
        valid = False
    if not valid:
        return claim_page(enrollment, token, claim, upload_form=form, status=400)
    line_id = int(form.line.data) if form.line.data else None
    limits = Limits.from_config(current_app.config)
    # All the files of the request share one wall-clock budget: five files of ten seconds each
    # would outlive gunicorn's timeout.
    deadline = time.monotonic() + limits.wall_seconds
    end_transaction(session)
    name = ""
    try:
        checked = []
        for storage in files:
            name = storage.filename
            checked.append(read_receipt(storage.stream, storage.filename,
                                        limits=limits.until(deadline)))
        with session.begin_nested():  # any refused file stores none
            for receipt in checked:
                name = receipt.original_name
                attach_receipt(session, claim.id, receipt, now=utcnow(), line_id=line_id)
    except RefundError as exc:
        add_error(form.files, _("%(name)s: %(problem)s",
                                 name=safe_display_name(name) or "?", problem=exc.message))
        return claim_page(enrollment, token, claim_or_404(enrollment, claim_id),
                           upload_form=form, status=exc.status)
    flash(ngettext("%(num)d receipt uploaded.", "%(num)d receipts uploaded.", len(files)),
          "success")
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id,
                            _anchor="receipts"))


@routes.get("/manage/<token>/claims/<int:claim_id>/receipts/<int:receipt_id>")
def download_receipt(token: str, claim_id: int, receipt_id: int):
    """One of the participant's own receipts, as a download."""
    enrollment = enrollment_or_404(token)
    receipt = get_session().scalar(
        receipt_select(receipt_id).where(Claim.id == claim_id,
                                         Claim.enrollment_id == enrollment.id)
    )
    if receipt is None:
        abort(404)
    return receipt_response(receipt)


@routes.post("/manage/<token>/claims/<int:claim_id>/receipts/<int:receipt_id>/delete")
def delete_receipt(token: str, claim_id: int, receipt_id: int):
    """Remove a receipt from an editable claim."""
    session = get_session()
    enrollment = enrollment_or_404(token)
    claim = claim_or_404(enrollment, claim_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with refusals() as refusal:  # a refusal is flashed
        remove_receipt(session, claim.id, receipt_id, now=utcnow())
    if refusal:
        return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id))
    flash(_("The receipt is removed."), "success")
    return redirect(url_for("refunds.show_claim", token=token, claim_id=claim.id,
                            _anchor="receipts"))
